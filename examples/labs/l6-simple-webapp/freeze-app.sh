#!/bin/sh
# The lab's freeze-app.sh (seed 003): GET /freeze. With a pod name, that pod (at its pod
# IP); without, whichever pod webapp-service picks. The app answers "Going to freeze!"
# and then answers nothing more; the process stays alive, so only a liveness probe gets
# it restarted.
set -u
ns=${NAMESPACE:+--namespace=$NAMESPACE}
if [ $# -gt 0 ]; then
  addr=$(kubectl get pod "$1" $ns -o jsonpath='{.status.podIP}'):8080 || exit 1
else
  ip=$(kubectl get service webapp-service $ns -o jsonpath='{.spec.clusterIP}') || exit 1
  addr=$ip:8080
fi
curl -s -m 2 "http://$addr/freeze"
