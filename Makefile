# inventory_erp: PGXS build plus the project's two front doors, `make demo` and `make test`.
#
# The extension's SQL lives in sql/install/NN_area.sql and is concatenated, in
# file-name order, into inventory_erp--$(EXTVERSION).sql (a build product).
# Every C file in src/ is part of the module.

EXTENSION   = inventory_erp
EXTVERSION  = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big  = $(EXTENSION)
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
# The version under development: its install script, and its update script
# from the last release, are both concatenated from fragments (one file per
# area, so that changes to different areas never touch the same file).
PREVVERSION = 0.2.0
UPDATE_SQL  = $(EXTENSION)--$(PREVVERSION)--$(EXTVERSION).sql
DATA_built  = $(EXTENSION)--$(EXTVERSION).sql $(UPDATE_SQL)
# the install scripts of released versions, and the update scripts between them
DATA        = $(sort $(wildcard sql/released/$(EXTENSION)--*.sql) $(wildcard sql/updates/$(EXTENSION)--*--*.sql))
PG_CPPFLAGS = -I$(srcdir)/src
EXTRA_CLEAN = $(DATA_built) results regression.diffs regression.out \
              test/isolation/output_iso

INSTALL_SQL = $(sort $(wildcard sql/install/*.sql))
UPDATE_FRAGMENTS = $(sort $(wildcard sql/updates/$(PREVVERSION)--$(EXTVERSION)/*.sql))

PG_CONFIG ?= pg_config

# `make deps` must work before pg_config exists (a bare Debian 12 has none):
# only include PGXS when pg_config is on the PATH.
HAVE_PG_CONFIG := $(shell command -v $(PG_CONFIG) >/dev/null 2>&1 && test -f "$$($(PG_CONFIG) --pgxs)" && echo yes)
ifeq ($(HAVE_PG_CONFIG),yes)
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
endif

# Always regenerated (a cat is instant): a renamed or removed file in
# sql/install changes the script without changing any file's timestamp.
$(EXTENSION)--$(EXTVERSION).sql: $(INSTALL_SQL) $(EXTENSION).control FORCE
	@cat $(INSTALL_SQL) > $@

$(UPDATE_SQL): $(UPDATE_FRAGMENTS) $(EXTENSION).control FORCE
	@{ echo '\\echo Use "ALTER EXTENSION $(EXTENSION) UPDATE TO '"'"'$(EXTVERSION)'"'"'" to load this file. \\quit'; \
	   cat $(UPDATE_FRAGMENTS); } > $@

FORCE:

.PHONY: deps test demo bench FORCE

# Installs the Debian packages the project needs, when missing (root only).
deps:
	@scripts/deps.sh

# Every test against a private, throwaway cluster; the last line is "N passed, N failed".
test: deps
	@$(MAKE) --no-print-directory all
	@scripts/test.sh

# A realistic retailer's peak day on a throwaway cluster.
demo: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory install
	@scripts/demo.sh

# pgbench ratios against PostgreSQL's own baselines on a durable throwaway cluster.
bench: deps
	@$(MAKE) --no-print-directory all
	@bench/run.sh
