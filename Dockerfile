# wasm-lambda host image: deploy once, then upload guests.
#
#   docker build -t wasm-lambda .                                  # the builder's architecture
#   docker buildx build --platform linux/arm64 -t wasm-lambda .    # Graviton (or linux/amd64)
#   docker run -p 9000:8080 wasm-lambda
#   curl -XPOST localhost:9000/2015-03-31/functions/function/invocations -d '{"data": [0, 0, 0, 0]}'
#
# The host is the zip form's bootstrap: scripts/package.sh builds it for the
# image's architecture (natively when the builder has that architecture,
# else cross with zig) and checks it needs glibc 2.34 at most, Amazon Linux
# 2023's, so the build stage runs on the builder's own platform, never under
# emulation, and may use a newer Debian. The example guests are
# precompiled for that architecture by that bootstrap (under qemu-user when
# it is not the builder's).

FROM --platform=$BUILDPLATFORM rust:1.95-slim-bookworm AS build
ARG TARGETARCH
WORKDIR /src
# Python for cargo-lambda and zig (PyPI); qemu-user and the other
# architecture's glibc to run the bootstrap for precompiling; binutils for
# the glibc check. Debian's current versions: pinning them would only break
# the build when the mirror moves on.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv binutils qemu-user \
      libc6-arm64-cross libc6-amd64-cross \
 && rm -rf /var/lib/apt/lists/*
RUN rustup target add wasm32-wasip2
COPY . .
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN case "${TARGETARCH:-amd64}" in \
      arm64) arch=arm64 machine=aarch64 ;; \
      *) arch=x86_64 machine=x86_64 ;; \
    esac \
 && scripts/package.sh "$arch" \
 && python3 -m zipfile -e "target/lambda/$arch/bootstrap.zip" /opt/ \
 && chmod 755 /opt/bootstrap \
 && run=(/opt/bootstrap) \
 && if [ "$(uname -m)" != "$machine" ]; then run=("qemu-$machine" -L "/usr/$machine-linux-gnu" /opt/bootstrap); fi \
 && scripts/build-guests.sh \
 && mkdir -p /opt/guests \
 && cp target/guests/wasm32-wasip2/release/hello.wasm target/guests/wasm32-wasip2/release/counter.wasm \
       target/guests/wasm32-wasip2/release/classifier.wasm /opt/guests/ \
 && cp target/guests/wasm32-wasip2/release/http_router.wasm /opt/guests/http-router.wasm \
 && "${run[@]}" precompile --target "$arch" /opt/guests \
 && mkdir -p /opt/models \
 && cp models/seed_forest.onnx /opt/models/

# The Lambda base image for custom runtimes (multi-architecture); it ships
# the Runtime Interface Emulator at /usr/local/bin/aws-lambda-rie.
FROM public.ecr.aws/lambda/provided:al2023
COPY --from=build /opt/bootstrap /var/runtime/bootstrap
COPY --from=build /opt/guests /opt/guests
COPY --from=build /opt/models /opt/models
COPY docker/entry.sh /entry.sh
ENV WASM_LAMBDA_GUESTS=/opt/guests \
    WASM_LAMBDA_MODELS=/opt/models \
    WASM_LAMBDA_CACHE=/tmp/wasm-lambda-cache \
    WASM_LAMBDA_DEFAULT_GUEST=classifier
ENTRYPOINT ["/entry.sh"]
