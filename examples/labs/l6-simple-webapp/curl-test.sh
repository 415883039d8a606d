#!/bin/sh
# The lab's curl-test.sh (seed 003): COUNT requests (20) to webapp-service's /ready, one
# line each: the app's answer and OK, or Failed (no answer within 2 s, or not 2xx).
set -u
ns=${NAMESPACE:+--namespace=$NAMESPACE}
ip=$(kubectl get service webapp-service $ns -o jsonpath='{.spec.clusterIP}') || exit 1
port=$(kubectl get service webapp-service $ns -o jsonpath='{.spec.ports[0].port}') || exit 1
i=0
while [ "$i" -lt "${COUNT:-20}" ]; do
  i=$((i + 1))
  if out=$(curl -s -f -m 2 "http://$ip:$port/ready"); then
    echo "$out OK"
  else
    echo "Failed"
  fi
done
