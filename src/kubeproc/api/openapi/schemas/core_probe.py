"""Schemas of core/v1 probes and lifecycle hooks: Probe, the exec, HTTP GET, TCP and
gRPC actions, and the postStart/preStop handlers.

This is what ``kubectl explain pod.spec.containers.livenessProbe`` shows, and what the
kubelet's prober reads.

Field names, types, required lists and list/patch markers are the facts of k8s.io/api at
v1.33 (the version kubeproc reports); the descriptions are kubeproc's own words. Order
follows the types top-down, a kind first and the types it uses after it.
"""

from __future__ import annotations

from kubeproc.api.openapi.dsl import (
    INT32,
    INT64,
    INT_OR_STRING,
    STRING,
    Package,
    Schema,
    enum,
    f,
    list_of,
)

core = Package("io.k8s.api.core.v1")


SCHEMAS: tuple[Schema, ...] = (
    core.struct(
        "Lifecycle",
        "Actions run at container lifecycle events.",
        [
            f(
                "postStart",
                core.ref("LifecycleHandler"),
                "Runs right after the container is created. If it fails the container is killed "
                "and handled by the restart policy.",
            ),
            f(
                "preStop",
                core.ref("LifecycleHandler"),
                "Runs before the container is stopped by an API request or a management event. "
                "The grace period keeps counting while it runs.",
            ),
            f(
                "stopSignal",
                STRING,
                "Signal sent to stop the container, overriding the image's STOPSIGNAL. Requires "
                "spec.os.name to be set.",
            ),
        ],
    ),
    core.struct(
        "LifecycleHandler",
        "One lifecycle action. Set exactly one field.",
        [
            f("exec", core.ref("ExecAction"), "Run a command in the container."),
            f("httpGet", core.ref("HTTPGetAction"), "Send an HTTP GET request."),
            f(
                "tcpSocket",
                core.ref("TCPSocketAction"),
                "Deprecated and unsupported; kept for backward compatibility.",
            ),
            f("sleep", core.ref("SleepAction"), "Sleep for a while before continuing."),
        ],
    ),
    core.struct(
        "ExecAction",
        "Runs a command inside the container.",
        [
            f(
                "command",
                list_of(STRING),
                "Command and arguments, run directly (not in a shell) in the container's root "
                "directory. Exit status 0 is success.",
                list_type="atomic",
            ),
        ],
    ),
    core.struct(
        "HTTPGetAction",
        "An HTTP GET request made by the kubelet.",
        [
            f("path", STRING, "Path of the request URL."),
            f(
                "port",
                INT_OR_STRING,
                "Port to connect to: a number or the name of a container port.",
            ),
            f(
                "host",
                STRING,
                "Host to connect to. Defaults to the pod IP; set a Host header through "
                "httpHeaders instead when possible.",
            ),
            f(
                "scheme",
                enum("HTTP", "HTTPS"),
                "HTTP or HTTPS. Defaults to HTTP; certificates are not verified.",
            ),
            f(
                "httpHeaders",
                list_of(core.ref("HTTPHeader")),
                "Extra request headers. Repeated names are allowed.",
                list_type="atomic",
            ),
        ],
        required=("port",),
    ),
    core.struct(
        "HTTPHeader",
        "One HTTP header.",
        [
            f("name", STRING, "Header name; normalized when sent."),
            f("value", STRING, "Header value."),
        ],
        required=("name", "value"),
    ),
    core.struct(
        "TCPSocketAction",
        "Opens a TCP connection.",
        [
            f(
                "port",
                INT_OR_STRING,
                "Port to connect to: a number or the name of a container port.",
            ),
            f("host", STRING, "Host to connect to. Defaults to the pod IP."),
        ],
        required=("port",),
    ),
    core.struct(
        "SleepAction",
        "Waits for a number of seconds.",
        [
            f("seconds", INT64, "How long to sleep, in seconds."),
        ],
        required=("seconds",),
    ),
    core.struct(
        "Probe",
        "A health check the kubelet runs against a container, and the timing that turns its "
        "results into a verdict.",
        [
            f(
                "exec",
                core.ref("ExecAction"),
                "Run a command in the container; exit status 0 means success.",
            ),
            f(
                "httpGet",
                core.ref("HTTPGetAction"),
                "Send an HTTP GET; a status from 200 to 399 means success.",
            ),
            f(
                "tcpSocket",
                core.ref("TCPSocketAction"),
                "Open a TCP connection; connecting means success.",
            ),
            f(
                "grpc",
                core.ref("GRPCAction"),
                "Call the gRPC health checking service; SERVING means success.",
            ),
            f(
                "initialDelaySeconds",
                INT32,
                "Seconds to wait after the container starts before the first probe.",
            ),
            f(
                "timeoutSeconds",
                INT32,
                "Seconds after which one attempt counts as failed. Defaults to 1; minimum 1.",
            ),
            f("periodSeconds", INT32, "Seconds between attempts. Defaults to 10; minimum 1."),
            f(
                "successThreshold",
                INT32,
                "Consecutive successes needed to count as healthy again after a failure. "
                "Defaults to 1; must be 1 for liveness and startup probes.",
            ),
            f(
                "failureThreshold",
                INT32,
                "Consecutive failures that make the probe fail. Defaults to 3; minimum 1.",
            ),
            f(
                "terminationGracePeriodSeconds",
                INT64,
                "Grace period, in seconds, for stopping the container after this probe fails; "
                "overrides the pod's value. Minimum 1; not for readiness probes.",
            ),
        ],
    ),
    core.struct(
        "GRPCAction",
        "Calls the standard gRPC health checking service.",
        [
            f("port", INT32, "Port number of the gRPC service, 1-65535."),
            f(
                "service",
                STRING,
                "Service name sent in the HealthCheckRequest. Empty asks about the server as a "
                "whole.",
            ),
        ],
        required=("port",),
    ),
)
