#!/usr/bin/env python3
"""Reads Alongside's analytics stream, feedback.insights.v1, with a standard Kafka client and
prints the current figures: one JSON object per key, sorted by key.

The topic is compacted: the latest message of a key is that unit's current figure, so reading
from the beginning rebuilds every current figure however late a consumer joins. Each message
is an alongside.common.v1.EventEnvelope whose payload is the event its event_type names: an
alongside.feedback.events.v1.FftInsight (a unit's FFT figures in a month), SpcInsight (a
trust's SPC chart of % positive), ThemeInsight (a month's comments by theme), PromInsight (a
month's outcome measures) or InvolvementInsight (a month's partner time); the Python classes are generated from the repository's .proto
files with grpcio-tools when the script starts. Each printed object carries its event_type.

    pip install confluent-kafka grpcio-tools
    python examples/python/insights_consumer.py --brokers kafka:9092 [--idle 5]
        [--security-protocol SASL_SSL --sasl-username ... --sasl-password ...]

It stops once no message has arrived for --idle seconds after it was given its partitions; a
warehouse job would keep running and upsert each figure by key instead.
"""

import argparse
import importlib
import json
import pathlib
import sys
import tempfile
import time
import uuid

from confluent_kafka import Consumer, KafkaError
from google.protobuf import json_format
from grpc_tools import protoc

TOPIC = "feedback.insights.v1"
KINDS = ("FftInsight", "SpcInsight", "ThemeInsight", "PromInsight", "InvolvementInsight")
PROTOS = [
    "alongside/common/v1/common.proto",
    "alongside/feedback/v1/feedback.proto",
    "alongside/feedback/events/v1/events.proto",
]


def generated_modules(proto_root):
    """Generates the Python classes of the contracts into a temporary directory."""
    out = tempfile.mkdtemp(prefix="alongside-pb-")
    include = str(pathlib.Path(protoc.__file__).parent / "_proto")
    args = ["protoc", f"-I{proto_root}", f"-I{include}", f"--python_out={out}", *PROTOS]
    if protoc.main(args) != 0:
        sys.exit(f"could not generate the classes from {proto_root}")
    sys.path.insert(0, out)
    common = importlib.import_module("alongside.common.v1.common_pb2")
    events = importlib.import_module("alongside.feedback.events.v1.events_pb2")
    classes = {f"alongside.feedback.events.v1.{kind}": getattr(events, kind) for kind in KINDS}
    return common.EventEnvelope, classes


def main():
    here = pathlib.Path(__file__).resolve()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", required=True, help="bootstrap servers, host:port,...")
    parser.add_argument("--proto-root", default=str(here.parents[2] / "proto"))
    parser.add_argument("--idle", type=float, default=5.0, help="seconds without messages before stopping")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait in all")
    parser.add_argument("--security-protocol", default="PLAINTEXT")
    parser.add_argument("--sasl-mechanism", default="SCRAM-SHA-512")
    parser.add_argument("--sasl-username")
    parser.add_argument("--sasl-password")
    args = parser.parse_args()

    Envelope, classes = generated_modules(args.proto_root)
    config = {
        "bootstrap.servers": args.brokers,
        # A group of its own, from the beginning: the whole compacted topic is read each run.
        "group.id": f"insights-example-{uuid.uuid4().hex}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "security.protocol": args.security_protocol,
    }
    if args.sasl_username:
        config.update({
            "sasl.mechanism": args.sasl_mechanism,
            "sasl.username": args.sasl_username,
            "sasl.password": args.sasl_password,
        })
    consumer = Consumer(config)
    assigned = []
    consumer.subscribe([TOPIC], on_assign=lambda c, parts: assigned.extend(parts))

    current = {}
    started = time.monotonic()
    last_message = None
    try:
        while time.monotonic() - started < args.timeout:
            message = consumer.poll(0.5)
            if message is None:
                if assigned and last_message is not None and time.monotonic() - last_message > args.idle:
                    break
                if assigned and last_message is None and time.monotonic() - started > args.idle * 4:
                    break
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    continue
                sys.exit(f"kafka: {message.error()}")
            last_message = time.monotonic()
            key = message.key().decode() if message.key() else ""
            if message.value() is None:
                # A tombstone: the figure was withdrawn.
                current.pop(key, None)
                continue
            envelope = Envelope.FromString(message.value())
            kind = classes.get(envelope.event_type)
            if kind is None:
                # A kind of figure this reader does not know yet: skip it, keep reading.
                continue
            insight = kind.FromString(envelope.payload)
            figure = json_format.MessageToDict(insight, preserving_proto_field_name=True)
            figure["key"] = key
            figure["event_type"] = envelope.event_type
            figure["occurred_at"] = envelope.occurred_at
            # Later messages of a key replace earlier ones: offsets are in order per partition,
            # and a key always goes to the same partition.
            current[key] = figure
    finally:
        consumer.close()
    for key in sorted(current):
        print(json.dumps(current[key], sort_keys=True))


if __name__ == "__main__":
    main()
