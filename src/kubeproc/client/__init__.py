"""The Kubernetes API client every component uses, and informer caches over it."""

from kubeproc.client.informer import Informer, object_key
from kubeproc.client.rest import ApiClient, RestClient, WatchEvent, path_for, status_error

__all__ = [
    "ApiClient",
    "Informer",
    "RestClient",
    "WatchEvent",
    "object_key",
    "path_for",
    "status_error",
]
