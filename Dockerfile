# wasm-lambda host image: deploy once, then upload guests.
#
#   docker build -t wasm-lambda .
#   docker run -p 9000:8080 wasm-lambda
#   curl -XPOST localhost:9000/2015-03-31/functions/function/invocations -d '{"name": "you"}'
#
# The build runs the same scripts as the tests (scripts/build-guests.sh,
# `wasm-lambda-host precompile`).

# Debian bullseye's glibc (2.31) is older than Amazon Linux 2023's (2.34),
# so the binary runs on the Lambda base image.
FROM rust:1.95-slim-bullseye AS build
WORKDIR /src
RUN rustup target add wasm32-wasip2
COPY . .
# The host alone resolves the features the tests' build does (host/Cargo.toml;
# scripts/test.sh checks it), so this is the binary the tests and benchmarks
# ran, its start-up functions packed first (host/link-order.txt, x86_64).
RUN cargo build --release --locked -p wasm-lambda-host \
 && scripts/build-guests.sh \
 && mkdir -p /opt/guests \
 && cp target/guests/wasm32-wasip2/release/hello.wasm target/guests/wasm32-wasip2/release/counter.wasm \
       target/guests/wasm32-wasip2/release/classifier.wasm /opt/guests/ \
 && cp target/guests/wasm32-wasip2/release/http_router.wasm /opt/guests/http-router.wasm \
 && target/release/wasm-lambda-host precompile /opt/guests \
 && mkdir -p /opt/models \
 && cp models/seed_forest.onnx /opt/models/

# The Lambda base image for custom runtimes; it ships the Runtime Interface
# Emulator at /usr/local/bin/aws-lambda-rie.
FROM public.ecr.aws/lambda/provided:al2023
COPY --from=build /src/target/release/wasm-lambda-host /var/runtime/bootstrap
COPY --from=build /opt/guests /opt/guests
COPY --from=build /opt/models /opt/models
COPY docker/entry.sh /entry.sh
ENV WASM_LAMBDA_GUESTS=/opt/guests \
    WASM_LAMBDA_MODELS=/opt/models \
    WASM_LAMBDA_CACHE=/tmp/wasm-lambda-cache \
    WASM_LAMBDA_DEFAULT_GUEST=classifier
ENTRYPOINT ["/entry.sh"]
