"""The application processes of the local run, in the order they start: the sandbox,
the workers, then the ingresses (which are ready only once a worker answers a probe)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from launcher.config import StackConfig
from launcher.kafka_security import Role
from launcher.supervisor import ChildSpec


def app_children(
    config: StackConfig,
    env: Mapping[str, str],
    role_env: Callable[[Role], dict[str, str]],
) -> list[ChildSpec]:
    """Each app's spec: the shared environment plus its Kafka principal and its ports."""
    children: list[ChildSpec] = []

    def child(name: str, command: Sequence[str], extra: dict[str, str]) -> None:
        spec_env = {**env, **extra}
        children.append(
            ChildSpec(name, command, env=spec_env, cwd=config.cwd, stop_grace=config.stop_grace)
        )

    if config.start_sandbox:
        child(
            "sandbox",
            config.sandbox_command,
            {**role_env("payments"), "SANDBOX_PORT": str(config.sandbox_port)},
        )
    if config.start_workers:
        for n, port in enumerate(config.web_ports, start=1):
            name = f"worker-{n}"
            child(
                name,
                config.worker_command,
                {**role_env("processors"), "WORKER_ID": name, "WORKER_WEB_PORT": str(port)},
            )
    if config.start_ingress:
        for instance, port, internal in zip(
            config.ingress_instances, config.ingress_ports, config.internal_ports, strict=True
        ):
            child(
                instance,
                config.ingress_command,
                {
                    **role_env("ingress"),
                    "INGRESS_PORT": str(port),
                    "INGRESS_INTERNAL_PORT": str(internal),
                    "INGRESS_INSTANCE_ID": instance,
                },
            )
    return children
