#!/usr/bin/env bash
# Memory of the file store (the default) at 0, 100k and 1M orders held,
# next to the memory store at 100k; and the store's cost per payment.
# See docs/store.md for the numbers of the last run.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -tags rss -count=1 -run 'TestStoreRSS|TestMemoryStoreRSS' -v -timeout 30m ./store | grep -E 'store,|^(ok|FAIL|---)'
go test -count=1 -run '^$' -bench Payment -benchmem ./store | grep -E '^Benchmark|^ok'
