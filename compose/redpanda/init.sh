#!/bin/sh
# One-shot after Redpanda is healthy: the SCRAM-SHA-512 users and the ACLs (compose `broker-init`).
# Users: `admin` (superuser, only for this script), the worker principal BROKER_SASL_USERNAME that every
# solbot service uses, and `console` (Redpanda Console, read-only). Only the worker principal may write
# anything: `control`, `control.manual` and `strategy.params` accept no one else's records.
# Idempotent: an existing user gets its password set again; an existing ACL is left as it is.
set -eu
: "${BROKER_ADMIN_PASSWORD:?}" "${BROKER_SASL_USERNAME:?}" "${BROKER_SASL_PASSWORD:?}" "${CONSOLE_SASL_PASSWORD:?}"
ADMIN_API="-X admin.hosts=redpanda:9644"
KAFKA_AS_ADMIN="-X brokers=redpanda:9092 -X user=admin -X pass=$BROKER_ADMIN_PASSWORD -X sasl.mechanism=SCRAM-SHA-512"

user() {
  rpk security user create "$1" --password "$2" --mechanism SCRAM-SHA-512 $ADMIN_API >/dev/null 2>&1 ||
    rpk security user update "$1" --new-password "$2" --mechanism SCRAM-SHA-512 $ADMIN_API >/dev/null
  echo "user $1: ready"
}

user admin "$BROKER_ADMIN_PASSWORD"
user "$BROKER_SASL_USERNAME" "$BROKER_SASL_PASSWORD"
user console "$CONSOLE_SASL_PASSWORD"

# The worker principal: every operation on topics, groups and transactional ids, and the cluster
# (CreateTopics, InitProducerId for idempotence).
rpk security acl create $KAFKA_AS_ADMIN --allow-principal "User:$BROKER_SASL_USERNAME" \
  --operation all --topic '*' --group '*' --transactional-id '*' --cluster
# Console reads and describes; it may not write to any topic.
rpk security acl create $KAFKA_AS_ADMIN --allow-principal User:console \
  --operation read,describe --topic '*' --group '*'
echo "acls: ready"
