# The two commands of the README: `make demo` and `make test`.
GO       ?= go
BIN      := bin/cohort
DEMO_DIR ?= demo-shop
PROFILES ?= 1000
HOOK_ADDR ?= 127.0.0.1:9999

.PHONY: build demo test test-snowflake test-bigquery bench clean

VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/cohort

# A demo project end to end on the embedded DuckDB: init with generated data,
# validate, run, look at a segment and a person, then sync a segment to a
# local webhook receiver twice (the second run sends nothing).
demo: build
	rm -rf $(DEMO_DIR)
	$(BIN) init $(DEMO_DIR) --demo --profiles $(PROFILES)
	$(BIN) --project $(DEMO_DIR) validate
	$(BIN) --project $(DEMO_DIR) run
	$(BIN) --project $(DEMO_DIR) preview cart_abandoners --sample 5
	$(BIN) --project $(DEMO_DIR) overlap vip lapsed_vip
	$(BIN) --project $(DEMO_DIR) profile customer_id:C100001
	$(BIN) --project $(DEMO_DIR) runs --limit 3
	@$(BIN) webhook-receiver --addr $(HOOK_ADDR) & receiver=$$!; trap 'kill $$receiver; wait $$receiver' EXIT; \
	  export CRM_WEBHOOK_URL=http://$(HOOK_ADDR)/cohort; set -ex; \
	  $(BIN) --project $(DEMO_DIR) sync churn_risk_to_crm --dry-run --sample 3; \
	  $(BIN) --project $(DEMO_DIR) sync churn_risk_to_crm; \
	  $(BIN) --project $(DEMO_DIR) sync churn_risk_to_crm; \
	  $(BIN) --project $(DEMO_DIR) syncs

# Every test, against the embedded DuckDB and the PostgreSQL server on 127.0.0.1:5432.
test:
	@unformatted="$$($$($(GO) env GOROOT)/bin/gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

# Snowflake and BigQuery without their clouds: each statement of the golden
# files parsed with the warehouse's grammar, then the conformance suite and the
# demo project end to end (compared with DuckDB and PostgreSQL) against an
# emulator built from the tools/ module (its dependencies stay out of the
# binary). A cold emulator build takes minutes (bigquery: ~6 GB of memory);
# it runs niced on one core and is cached in bin/.
EMULATOR_BUILD := cd tools && GOMAXPROCS=1 nice -n 19 $(GO) build -p 1
EMULATOR_TESTS = ./dialects/$(1) ./engine -run 'TestConformance|TestDemoRunsTheSameOnEveryDialect'

bin/snowflake-emulator: tools/go.mod tools/snowflake-emulator/main.go
	$(EMULATOR_BUILD) -o ../$@ ./snowflake-emulator

bin/bigquery-emulator: tools/go.mod
	$(EMULATOR_BUILD) -o ../$@ github.com/goccy/bigquery-emulator/cmd/bigquery-emulator

# The Snowflake emulator (v0.0.9) passes DuckDB-flavoured SQL through: it has
# no bind parameters, TRANSIENT, TIMESTAMP_NTZ, TO_NUMBER, REGEXP_INSTR, SWAP
# WITH, CREATE TABLE LIKE or FLATTEN, so only the conformance tests without
# those run against it (see docs/warehouses/snowflake.md); the grammar check
# covers every statement.
test-snowflake: bin/snowflake-emulator
	COHORT_TEST_GRAMMAR=snowflake $(GO) test -count=1 -timeout 120m ./dialects/sqlgrammar
	COHORT_TEST_SNOWFLAKE_EMULATOR=$(CURDIR)/bin/snowflake-emulator $(GO) test -count=1 -timeout 30m ./dialects/snowflake -run 'TestConformance/(registry|pinned_connection|quote)$$'


test-bigquery: bin/bigquery-emulator
	COHORT_TEST_GRAMMAR=bigquery $(GO) test -count=1 -timeout 60m ./dialects/sqlgrammar
	COHORT_TEST_BIGQUERY_EMULATOR=$(CURDIR)/bin/bigquery-emulator $(GO) test -count=1 -timeout 60m $(call EMULATOR_TESTS,bigquery)

bench: build
	$(BIN) bench identity --edges 10000000
	$(BIN) bench segments --profiles 1000000

clean:
	rm -rf bin $(DEMO_DIR)
