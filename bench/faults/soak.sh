#!/usr/bin/env bash
# bench/faults/soak.sh — 10 minutes at 1,000 concurrent streams (500 keep-alive HTTP clients through EXPOSE, 500 TCP
# echo streams through PULL), every byte checked, no fault; kit and driver RSS, descriptors and threads, streams,
# requests and errors every 10 s (see bench/README.md, "Faults and soak"). Exit 0 only if every request succeeded intact
# and the kit came back to its baseline once the traffic stopped. --soak-secs S for another length; --results-md
# bench/RESULTS.md records the run there.
FAULTS_MODE=soak exec "$(dirname "$0")/run.sh" "$@"
