# mynaconform: the single entry point. CI (.ci/run) calls the same targets.
GO      ?= go
OUT     ?= reports/out
SHARDS  ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: run test bench hil deps fuzz race vet fixtures scale

## run: the conformance suite on the emulator target, every device profile; writes $(OUT)/
run: deps
	$(GO) run ./cmd/mynaconform run -out $(OUT)

## test: vet, all tests, go test vs ginkgo -p agreement, a short fuzz run, and the PC/SC path (make hil)
test: deps vet
	$(GO) test -count=1 ./...
	$(MAKE) race
	bash conformance/parallel.sh
	$(MAKE) fuzz
	$(MAKE) hil

## vet: gofmt and go vet must be clean
vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	@if pkg-config --exists libpcsclite 2>/dev/null; then $(GO) vet -tags pcsc ./...; fi

## race: the packages that run devices, slots, workers and the store's writers concurrently, under the race detector
race:
	$(GO) test -race -count=1 ./conformance/... ./emulator/... ./readers/... ./reports/...

## fuzz: bounded fuzzing of every byte and request entry point (their seed corpora run in 'go test' too).
## Budgets are execution counts, not durations: with a duration Go 1.26's fuzz coordinator can
## report its own deadline as a failure with no crasher (golang/go#75804, fixed in Go 1.27).
## Each count is about 10 s of fuzzing on this project's 2-core machine; FUZZX scales them all.
FUZZX ?= 1
FUZZ_TARGETS = \
	./formats/iso7816:FuzzParseCommand:300000 ./formats/tlv:FuzzParse:300000 \
	./formats/mynumber:FuzzParseRecords:150000 \
	./emulator/card:FuzzTransmit:60000 \
	./emulator/phone:FuzzPhoneTransmit:300000 ./emulator/vpcd:FuzzServe:80000 \
	./emulator/onshi:FuzzDecodeRequests:20000 ./readers/session:FuzzTransmit:400000 \
	./reports/transcript:FuzzRead:200000 ./reports:FuzzThumbnail:50000
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; rest=$${t#*:}; fn=$${rest%%:*}; n=$$(( $${rest#*:} * $(FUZZX) )); \
	  echo "fuzz $$fn in $$pkg for $$n inputs"; \
	  $(GO) test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$${n}x $$pkg; \
	done

## bench: benchmarks of every layer, side by side in one run; then the PC/SC Reader against the C floor (build tag pcsc)
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 ./...
	@GO=$(GO) bash conformance/hil/floor.sh

## hil: the suite through the real pcscd + vpcd stack (installs the Debian packages if missing)
hil:
	bash conformance/hil/run.sh $(OUT)/hil

## deps: Go modules (the only downloads; nothing is fetched at run time)
deps:
	@$(GO) mod download

## scale: wall time of the suite for 10, 100, 1000 generated profiles: one process (one device at a
## time, several at once), ginkgo -p, and SHARDS shard processes merged (default: one per CPU)
scale:
	SHARDS=$(SHARDS) bash conformance/scale.sh

## fixtures: regenerate the deterministic test PKI, photos and images from the seed
fixtures:
	$(GO) run ./fixtures/gen -out fixtures
