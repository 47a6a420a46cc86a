#!/usr/bin/env bash
# Writes server.properties from the environment, as apache/kafka's image does: KAFKA_FOO_BAR=x
# becomes foo.bar=x. CLUSTER_ID formats the data directory on the first start (a restart keeps
# its data). KAFKA_HEAP sets -Xms/-Xmx (default 384m).
set -euo pipefail
: "${CLUSTER_ID:?CLUSTER_ID is required (22 base64url characters)}"
conf=/var/lib/kafka/server.properties
{
  echo "log.dirs=/var/lib/kafka/data"
  for var in $(compgen -e); do
    case $var in
      KAFKA_HEAP) ;;
      KAFKA_*) key=${var#KAFKA_}; key=${key,,}; echo "${key//_/.}=${!var}" ;;
    esac
  done
} >"$conf"
cat >/var/lib/kafka/log4j.properties <<'PROPS'
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.KafkaRaftServer=INFO
PROPS
java_opts=(-Djava.awt.headless=true -Dlog4j.configuration=file:/var/lib/kafka/log4j.properties
  -cp '/opt/kafka/libs/*')
java "${java_opts[@]}" kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$conf" \
  --ignore-formatted >/dev/null
heap=${KAFKA_HEAP:-384m}
exec java -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 "${java_opts[@]}" \
  kafka.Kafka "$conf"
