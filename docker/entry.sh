#!/bin/sh
# Lambda starts the bootstrap with AWS_LAMBDA_RUNTIME_API set. Locally
# (`docker run -p 9000:8080 IMAGE`) it is not, so the Runtime Interface
# Emulator runs the bootstrap instead, as seed 004's entry.sh does.
if [ -z "${AWS_LAMBDA_RUNTIME_API}" ]; then
  exec /usr/local/bin/aws-lambda-rie /var/runtime/bootstrap "$@"
else
  exec /var/runtime/bootstrap "$@"
fi
