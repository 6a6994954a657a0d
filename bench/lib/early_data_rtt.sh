#!/usr/bin/env bash
# bench/lib/early_data_rtt.sh — time to first byte of new connections through EXPOSE when the driver is 25 ms (one
# way) from the kit (bench/lib/delay_proxy.py), early data on vs off, twice each; 40 new connections (curl) per run.
# Needs the packaged kit (./mvnw -B package -DskipTests), curl and python3. About 1 minute.
cd "$(dirname "$0")/../.."
J=target/quarkus-app/quarkus-run.jar; JAVA=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
mkdir -p /tmp/ttfb-www; echo hello > /tmp/ttfb-www/index.html
python3 -m http.server 18081 --bind 127.0.0.1 --directory /tmp/ttfb-www >/dev/null 2>&1 & WEB=$!
for v in early noearly early noearly; do
  flag=$([[ $v == early ]] && echo true || echo false)
  QUARKUS_HTTP_PORT=18071 QUARKUS_HTTP_HOST=127.0.0.1 HOODY_TUNNEL_EXPOSE_HOST=127.0.0.1 $JAVA -Xmx512m -Dhoody.tunnel.early-data=$flag -jar $J >/tmp/ttfb-kit.log 2>&1 & KIT=$!
  python3 bench/lib/delay_proxy.py 18072 18071 25 >/dev/null 2>&1 & PX=$!
  for i in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18071/q/health/ready && break; sleep 0.2; done
  $JAVA -jar $J expose 127.0.0.1:18081 --port 18073 --kit http://127.0.0.1:18072 --json >/tmp/ttfb-drv.log 2>&1 & DRV=$!
  for i in $(seq 100); do grep -q bind_ok /tmp/ttfb-drv.log && break; sleep 0.2; done
  for i in $(seq 10); do curl -s -o /dev/null http://127.0.0.1:18073/; done   # warm-up
  vals=$(for i in $(seq 40); do curl -s -o /dev/null -w '%{time_starttransfer}\n' http://127.0.0.1:18073/; done | sort -n)
  med=$(echo "$vals" | sed -n 20p); p10=$(echo "$vals" | sed -n 4p); p90=$(echo "$vals" | sed -n 36p)
  echo "$v: TTFB median ${med}s (p10 $p10, p90 $p90), 40 new connections"
  kill $DRV; wait $DRV 2>/dev/null; kill $PX $KIT; wait $KIT 2>/dev/null
done
kill $WEB
