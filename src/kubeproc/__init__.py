"""kubeproc: Kubernetes health checking, for real, on one machine."""
