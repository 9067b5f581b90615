# Front end to the CMake build. `make` builds build/heed and the libraries;
# `make test` runs every test; `make demo` shows heed working.
BUILD   ?= build
PREFIX  ?= /usr/local
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 60
HEED    := $(BUILD)/heed
# Debian's python3, where scripts/deps.sh installs numpy and pytest (a
# python3 found first on PATH, pyenv's say, may have neither).
PYTHON  ?= $(firstword $(wildcard /usr/bin/python3) python3)

.PHONY: all configure deps test asan fuzz demo default-model install clean

all: configure
	cmake --build $(BUILD) -j $(JOBS)

configure:
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

deps:
	@sh scripts/deps.sh

test: deps all
	$(BUILD)/heed_tests
	sh tests/browser/run.sh $(HEED)
	sh tests/serve/run.sh $(HEED)
	sh tests/scale/run.sh $(HEED)
	$(PYTHON) -m pytest -q python/tests

# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: deps
	@test -f build-asan/CMakeCache.txt || cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DHEED_SANITIZE=ON
	cmake --build build-asan -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build-asan/heed_tests
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 sh tests/serve/run.sh build-asan/heed

# libFuzzer on the GGUF reader, seeded from the regression corpus
# (FUZZ=tokenize: on the tokenizers, with the fixtures' vocabularies;
# FUZZ=bpe_train: on heed train's tokenizer learning; FUZZ=grammar: on
# grammars and JSON schemas; FUZZ=jinja: on the Jinja interpreter, seeded
# with the test templates of tests/jinja too; FUZZ=tool_calls: on the
# tool-call parsers and grammars).
FUZZ ?= gguf
fuzz:
	@HEED_FUZZ_DEPS=1 sh scripts/deps.sh
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DHEED_FUZZ=ON -DHEED_TESTS=OFF > /dev/null
	cmake --build build-fuzz -j $(JOBS) --target fuzz_$(FUZZ)
	mkdir -p build-fuzz/corpus-$(FUZZ) tests/corpus/$(FUZZ)
	build-fuzz/fuzz_$(FUZZ) -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 \
		-artifact_prefix=build-fuzz/ build-fuzz/corpus-$(FUZZ) tests/corpus/$(FUZZ) \
		$(wildcard tests/$(FUZZ))

# Retrains models/default.gguf from scratch (about an hour on 2 cores).
default-model: deps all
	@sh scripts/default-model.sh $(HEED) models/default.gguf

demo: deps all
	@sh scripts/demo.sh $(HEED)

# The prefix is configured (not only given to --install) so heed.pc names it.
install: configure
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) > /dev/null
	cmake --build $(BUILD) -j $(JOBS)
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-fuzz
