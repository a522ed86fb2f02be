"""Helpers for infra/scripts/sam-local.sh, run with the tools venv's python (it imports SAM).

  sam_loopback.py derive <template> <out> <lambda-dir> <endpoint>
      Writes a copy of template.yaml for `sam local`: x86_64 (the host's architecture, so no
      emulator is needed), each function's CodeUri pointing at its prebuilt release bootstrap
      under <lambda-dir>/<binary>/ (so SAM runs the binaries cargo lambda already built instead
      of building them again; a function with no bootstrap there is left out), and AWS_ENDPOINT_URL=<endpoint> declared so the env-vars file can
      set it (SAM only passes variables the template declares).

  sam_loopback.py sam <sam arguments...>
      Runs the SAM CLI with its Lambda containers on the host's network, bound to 127.0.0.1.
      SAM 1.170 accepts --docker-network host but does not set the container's network mode
      (aws-sam-cli issues 4236, 6347, 7278); without it the container sits on a bridge and
      reaches the host through a private address. So docker-py's container creation is patched
      for SAM's Lambda containers only (recognised by the runtime interface emulator entry
      point): network_mode host, no published ports, the emulator listening on 127.0.0.1 at the
      port SAM picked, and its Runtime API on another free loopback port (several containers
      share the host's network, so the emulator's default 9001 would collide). Image builds
      (SAM adds the emulator to the base image) run on the host network too, since the engine
      is started without a bridge. This relies on SAM internals: aws-sam-cli is pinned in
      tools.sh.
"""

import os
import socket
import sys

RIE = "/var/rapid/aws-lambda-rie"
RAPID_PORT = "8080"


def free_loopback_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def patch_docker():
    import docker.api.build as build_api
    import docker.models.containers as containers

    original_create = containers.ContainerCollection.create

    def create(self, image, command=None, **kwargs):
        entrypoint = list(kwargs.get("entrypoint") or [])
        ports = kwargs.get("ports") or {}
        rapid = ports.get(RAPID_PORT, ports.get(int(RAPID_PORT)))
        if entrypoint[:1] == [RIE] and rapid is not None:
            host_port = rapid[1] if isinstance(rapid, tuple) else rapid
            kwargs.pop("ports")
            kwargs["network_mode"] = "host"
            kwargs["entrypoint"] = entrypoint + [
                "--runtime-interface-emulator-address",
                f"127.0.0.1:{host_port}",
                "--runtime-api-address",
                f"127.0.0.1:{free_loopback_port()}",
            ]
        return original_create(self, image, command, **kwargs)

    containers.ContainerCollection.create = create

    original_build = build_api.BuildApiMixin.build

    def build(self, *args, **kwargs):
        kwargs.setdefault("network_mode", "host")
        return original_build(self, *args, **kwargs)

    build_api.BuildApiMixin.build = build


def derive(template_path, out_path, lambda_dir, endpoint, secrets_endpoint):
    from samcli.yamlhelper import yaml_dump, yaml_parse

    with open(template_path) as f:
        template = yaml_parse(f.read())
    function_globals = template["Globals"]["Function"]
    function_globals["Architectures"] = ["x86_64"]
    function_globals.pop("CodeUri", None)
    # Local runs have no CloudWatch log group to write to.
    function_globals.pop("LoggingConfig", None)
    function_globals["Environment"]["Variables"]["AWS_ENDPOINT_URL"] = endpoint
    # The deployment secret comes from the local Secrets Manager (moto), not the catch-all.
    function_globals["Environment"]["Variables"]["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = secrets_endpoint
    for name, resource in list(template["Resources"].items()):
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        binary = resource["Metadata"]["BuildProperties"]["Binary"]
        if not os.path.exists(f"{lambda_dir}/{binary}/bootstrap"):
            # Not staged (the smoke test stages only the functions it calls): not served.
            del template["Resources"][name]
            continue
        # No Metadata: SAM treats CodeUri as ready-built code instead of building it.
        resource.pop("Metadata")
        resource["Properties"]["CodeUri"] = f"{lambda_dir}/{binary}"
    with open(out_path, "w") as f:
        f.write(yaml_dump(template))


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "derive":
        derive(*args)
    elif command == "sam":
        patch_docker()
        from samcli.cli.main import cli

        sys.argv = ["sam"] + args
        sys.exit(cli())
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
