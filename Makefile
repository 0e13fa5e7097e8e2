# mynaconform: the single entry point. CI (.ci/run) calls the same targets.
GO      ?= go
OUT     ?= reports/out
FUZZTIME ?= 10s

.PHONY: run test bench hil deps fuzz vet fixtures scale

## run: the conformance suite on the emulator target, every device profile; writes $(OUT)/
run: deps
	$(GO) run ./cmd/mynaconform run -out $(OUT)

## test: vet, all tests, go test vs ginkgo -p agreement, a short fuzz run, and the PC/SC path (make hil)
test: deps vet
	$(GO) test -count=1 ./...
	bash conformance/parallel.sh
	$(MAKE) fuzz
	$(MAKE) hil

## vet: gofmt and go vet must be clean
vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	@if pkg-config --exists libpcsclite 2>/dev/null; then $(GO) vet -tags pcsc ./...; fi

## fuzz: bounded fuzzing of every byte and request entry point (their seed corpora run in 'go test' too)
FUZZ_TARGETS = \
	./emulator/card:FuzzTransmit ./emulator/card:FuzzParseAgainstSkythen ./emulator/phone:FuzzPhoneTransmit \
	./emulator/vpcd:FuzzServe ./emulator/onshi:FuzzDecodeRequests ./readers/session:FuzzTransmit \
	./readers/tlv:FuzzParse ./reports/transcript:FuzzRead ./reports:FuzzThumbnail
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t#*:}; echo "fuzz $$fn in $$pkg for $(FUZZTIME)"; \
	  $(GO) test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

## bench: benchmarks of every layer, side by side in one run
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 ./...

## hil: the suite through the real pcscd + vpcd stack (installs the Debian packages if missing)
hil:
	bash conformance/hil/run.sh $(OUT)/hil

## deps: Go modules (the only downloads; nothing is fetched at run time)
deps:
	@$(GO) mod download

## scale: wall time of the suite for 10, 100, 1000 generated profiles, serial and ginkgo -p
scale:
	bash conformance/scale.sh

## fixtures: regenerate the deterministic test PKI, photos and images from the seed
fixtures:
	$(GO) run ./fixtures/gen -out fixtures
