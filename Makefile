# inventory_erp: PGXS build plus the project's two front doors, `make demo` and `make test`.
#
# The extension's SQL lives in sql/install/NN_area.sql and is concatenated, in
# file-name order, into inventory_erp--$(EXTVERSION).sql (a build product).
# Every C file in src/ is part of the module.

EXTENSION   = inventory_erp
EXTVERSION  = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big  = $(EXTENSION)
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c src/stock/*.c)))

# Versions (doc/operations.md, "Releases").  PREVVERSION is the last release;
# scripts/cut-release.sh moves it and the control file's default_version.
# Between releases default_version names the version under development (0.3.0
# until it is cut; from then on X.Y.Z-dev): its install script and its update
# script from PREVVERSION are built, concatenated from sql/install/ and from the
# fragments in sql/updates/PREVVERSION--X.Y.Z/ (one file per area, so that
# changes to different areas never touch the same file).  At a release commit
# default_version is a released version (sql/released/ has its script): then
# nothing is built, and the package is exactly the frozen scripts.
PREVVERSION = 0.3.0
RELVERSION  = $(EXTVERSION:-dev=)
RELEASED    = $(wildcard sql/released/$(EXTENSION)--$(EXTVERSION).sql)
UPDATE_SQL  = $(EXTENSION)--$(PREVVERSION)--$(EXTVERSION).sql
ifeq ($(RELEASED),)
DATA_built  = $(EXTENSION)--$(EXTVERSION).sql $(UPDATE_SQL)
endif
# the install scripts of released versions, and the update scripts between them
# (frozen: sql/released/SHA256SUMS lists them)
DATA        = $(sort $(wildcard sql/released/$(EXTENSION)--*.sql) $(wildcard sql/updates/$(EXTENSION)--*--*.sql))
PG_CPPFLAGS = -I$(srcdir)/src
EXTRA_CLEAN = $(EXTENSION)--$(EXTVERSION).sql $(UPDATE_SQL) results regression.diffs regression.out \
              test/isolation/output_iso

INSTALL_SQL = $(sort $(wildcard sql/install/*.sql))
UPDATE_FRAGMENTS = $(sort $(wildcard sql/updates/$(PREVVERSION)--$(RELVERSION)/*.sql))
# A fragment line `--@include sql/install/NN_x.sql` stands for that whole file: an area
# new in this version is created in the update exactly as in a fresh install, from the
# one copy in sql/install/ (a missing file fails the build).  scripts/cut-release.sh
# freezes the expanded script, so a later edit of the install file never reaches a
# released update.
AWK_INCLUDE = awk '/^--@include / { f = $$2; n = 0; while ((getline l < f) > 0) { print l; n++ } \
                  if (n == 0) { print "make: --@include " f ": missing or empty" > "/dev/stderr"; exit 1 } \
                  close(f); next } { print }'

# `make installcheck` (PGXS): the pg_regress scenarios sql/*.sql against
# expected/*.out, on the installed extension of a running server that
# PGHOST/PGPORT/PGUSER name (a superuser: the scenarios create the extension and
# their roles, and drop them).  In a database of their own (contrib_regression),
# created with the C locale and UTF8, so that the server's own locale does not
# reorder their output.  `make test` runs the same scenarios on its own cluster.
REGRESS      = $(sort $(patsubst sql/%.sql,%,$(wildcard sql/*.sql)))
REGRESS_OPTS = --no-locale --encoding=UTF8

# PostgreSQL 15's own pg_config (Debian's /usr/bin/pg_config picks the newest
# server-dev installed, which need not be 15)
PG_CONFIG ?= $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)

# `make deps` must work before pg_config exists (a bare Debian 12 has none):
# only include PGXS when pg_config is on the PATH.
HAVE_PG_CONFIG := $(shell command -v $(PG_CONFIG) >/dev/null 2>&1 && test -f "$$($(PG_CONFIG) --pgxs)" && echo yes)
ifeq ($(HAVE_PG_CONFIG),yes)
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
endif

# Always regenerated (a cat is instant): a renamed or removed file in
# sql/install changes the script without changing any file's timestamp.
# Not at a release commit: the released scripts are never built again.
ifeq ($(RELEASED),)
$(EXTENSION)--$(EXTVERSION).sql: $(INSTALL_SQL) $(EXTENSION).control FORCE
	@cat $(INSTALL_SQL) > $@

$(UPDATE_SQL): $(UPDATE_FRAGMENTS) $(EXTENSION).control FORCE
	@test -n "$(UPDATE_FRAGMENTS)" || { echo "no update fragments in sql/updates/$(PREVVERSION)--$(RELVERSION)/" >&2; exit 1; }
	@{ echo '\\echo Use "ALTER EXTENSION $(EXTENSION) UPDATE TO '"'"'$(EXTVERSION)'"'"'" to load this file. \\quit'; \
	   $(AWK_INCLUDE) $(UPDATE_FRAGMENTS); } > $@.tmp && mv $@.tmp $@ || { rm -f $@.tmp; exit 1; }
endif

FORCE:

# `make test` builds the module with assertions and warnings as errors, as
# pgvector's CI does; a plain `make`/`make install` keeps PGXS's own flags.
#   -Wno-unused-parameter: PostgreSQL's headers need it (fmgr.h's
#     PG_FUNCTION_INFO_V1 declares an unused fcinfo) and so do callbacks
#     whose signature PostgreSQL fixes (syscache and resource callbacks).
#   -Wno-sign-compare, -Wno-missing-field-initializers: -Wextra adds these,
#     which PostgreSQL's own build does not use; the style's int/Size loops
#     and `= {0}` initializers would trip them.
TEST_CFLAGS = -DUSE_ASSERT_CHECKING -Wall -Wextra -Werror \
              -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers

# The objects remember the PG_CFLAGS they were built with: a build with other
# flags (the assertion build of `make test`, then a plain `make install`)
# rebuilds them instead of mixing the two.
ifeq ($(HAVE_PG_CONFIG),yes)
$(OBJS): .build-flags
endif
.build-flags: FORCE
	@echo '$(PG_CFLAGS)' | cmp -s - $@ || echo '$(PG_CFLAGS)' > $@
EXTRA_CLEAN += .build-flags

.PHONY: deps test demo bench valgrind check-report FORCE

# Installs the Debian packages the project needs, when missing (root only).
deps:
	@scripts/deps.sh

# Every test against a private, throwaway cluster; the last line is "N passed, N failed".
test: deps
	@$(MAKE) --no-print-directory all PG_CFLAGS='$(TEST_CFLAGS)'
	@PG_CFLAGS='$(TEST_CFLAGS)' scripts/test.sh

# The pg_regress scenarios against a cluster whose postgres runs under valgrind
# (slow: minutes; not part of `make test`).  Assertion build, as in `make test`.
valgrind:
	@scripts/deps.sh valgrind
	@$(MAKE) --no-print-directory all PG_CFLAGS='$(TEST_CFLAGS)'
	@PG_CFLAGS='$(TEST_CFLAGS)' scripts/valgrind.sh

# A realistic retailer's peak day on a throwaway cluster.
demo: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory install
	@scripts/demo.sh

# Renders demo-report.html (make demo) in headless Chromium; fails on an empty or broken page.
check-report:
	@scripts/deps.sh report
	@scripts/check-report.sh

# pgbench ratios against PostgreSQL's own baselines on a durable throwaway cluster.
bench: deps
	@$(MAKE) --no-print-directory all
	@bench/run.sh
