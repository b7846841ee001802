#!/bin/bash
# compose's Kafka node: SASL/SCRAM with one principal per role and the StandardAuthorizer,
# the same security as `KAFKA_SECURITY=sasl make run` (launcher/kafka_security.py).
# The SCRAM users are given to the storage format, so they exist from the first start;
# `launcher.setup` (as admin) then writes the ACLs. Passwords come from the environment
# (KAFKA_PASSWORD_<ROLE>, set in compose's .env), never from this file.
set -euo pipefail

KAFKA=/opt/kafka
DATA=/var/lib/kafka/data
CONFIG=/tmp/server.properties
MECHANISM=SCRAM-SHA-256
: "${KAFKA_CLUSTER_ID:=MkU3OEVBNTcwNTJENDM2Qg}"

cat > "$CONFIG" <<PROPERTIES
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=kafka:9093
listeners=SASL_PLAINTEXT://:9092,CONTROLLER://:9093
advertised.listeners=SASL_PLAINTEXT://kafka:9092
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_PLAINTEXT
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
log.dirs=$DATA
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
sasl.enabled.mechanisms=$MECHANISM
sasl.mechanism.inter.broker.protocol=$MECHANISM
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$KAFKA_PASSWORD_ADMIN";
listener.name.controller.sasl.enabled.mechanisms=PLAIN
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" password="$KAFKA_PASSWORD_CONTROLLER" user_controller="$KAFKA_PASSWORD_CONTROLLER";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin;User:controller
allow.everyone.if.no.acl.found=false
PROPERTIES

# For the healthcheck's kafka-topics.sh.
cat > /tmp/admin.properties <<PROPERTIES
security.protocol=SASL_PLAINTEXT
sasl.mechanism=$MECHANISM
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$KAFKA_PASSWORD_ADMIN";
PROPERTIES

"$KAFKA/bin/kafka-storage.sh" format --standalone --ignore-formatted -t "$KAFKA_CLUSTER_ID" -c "$CONFIG" \
  --add-scram "$MECHANISM=[name=admin,password=$KAFKA_PASSWORD_ADMIN]" \
  --add-scram "$MECHANISM=[name=ingress,password=$KAFKA_PASSWORD_INGRESS]" \
  --add-scram "$MECHANISM=[name=processors,password=$KAFKA_PASSWORD_PROCESSORS]" \
  --add-scram "$MECHANISM=[name=payments,password=$KAFKA_PASSWORD_PAYMENTS]"
exec "$KAFKA/bin/kafka-server-start.sh" "$CONFIG"
