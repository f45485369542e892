# The two commands a fresh machine needs: `make run` and `make test`.
GO ?= go

.PHONY: run build test bench vet

# Runs the gateway on its embedded defaults (in-process QFPay double).
run:
	$(GO) run ./cmd/qfsign run --config Caddyfile.example

# Builds the qfsign binary into ./bin/qfsign.
build:
	$(GO) build -o bin/qfsign ./cmd/qfsign

# Installs what the tests need and is missing (scripts/deps.sh: apt-get,
# as root or with sudo), then runs every test with the race detector;
# fails on any failure or skip.
test:
	@scripts/deps.sh
	@scripts/test.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./signer ./caddymodule

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
