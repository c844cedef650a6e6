"""The embedded Apache Kafka broker: one KRaft node (broker and controller), data on disk.

The jars are resolved by Maven at set-up (`make kafka`, from `services/kafka/pom.xml`, pinned versions)
into the local Maven repository; the set-up writes the classpath to `.cache/kafka/classpath.txt`, keyed
on the pom's hash. Nothing is downloaded at run time. See docs/broker.md for the settings and figures.
"""

from services.kafka.server import (
    KAFKA_VERSION,
    KafkaHandle,
    KafkaUnavailable,
    find_java,
    kafka_unavailable_reason,
    resolved_classpath,
    start_kafka,
)

__all__ = [
    "KAFKA_VERSION",
    "KafkaHandle",
    "KafkaUnavailable",
    "find_java",
    "kafka_unavailable_reason",
    "resolved_classpath",
    "start_kafka",
]
