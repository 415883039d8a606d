#!/bin/sh
# The lab's crash-app.sh (seed 003): GET /crash. With a pod name, that pod (at its pod
# IP); without, whichever pod webapp-service picks. The app answers "Mayday! Mayday!
# Going to crash!" and exits; the kubelet restarts it (RESTARTS 1).
set -u
ns=${NAMESPACE:+--namespace=$NAMESPACE}
if [ $# -gt 0 ]; then
  addr=$(kubectl get pod "$1" $ns -o jsonpath='{.status.podIP}'):8080 || exit 1
else
  ip=$(kubectl get service webapp-service $ns -o jsonpath='{.spec.clusterIP}') || exit 1
  addr=$ip:8080
fi
curl -s -m 2 "http://$addr/crash"
