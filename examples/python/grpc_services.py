"""Lists the gRPC methods one of Alongside's ports serves, found by server reflection: the first
call of a service integrator. Prints one `package.Service/Method` a line.

    tools/venv/bin/python examples/python/grpc_services.py 127.0.0.1:50051

It uses grpcio-reflection's descriptor database (reflection v1alpha, as Python's client asks);
grpcurl and newer clients ask v1, which every port serves too.
"""

import argparse
import sys

import grpc
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address", help="host:port of a service, as `make run` prints it")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for it")
    args = parser.parse_args()
    with grpc.insecure_channel(args.address) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=args.timeout)
        except grpc.FutureTimeoutError:
            print(f"no gRPC server answered at {args.address}", file=sys.stderr)
            return 1
        database = ProtoReflectionDescriptorDatabase(channel)
        pool = DescriptorPool(database)
        for name in sorted(database.get_services()):
            service = pool.FindServiceByName(name)
            for method in service.methods:
                print(f"{name}/{method.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
