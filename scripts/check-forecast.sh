#!/usr/bin/env bash
# scripts/check-forecast.sh: the forecasting engine against a reference nobody
# here wrote, python3-statsmodels (Holt-Winters exponential smoothing), on
# synthetic series of known structure and on demo-like history.  Not part of
# make test; doc/planning.md quotes its output.
#
# Each series has 120 days of history and 28 more days that both sides forecast.
# Per kind of series it prints the mean absolute error (units/day) over those
# 28 days against the truth (the noise-free expectation) and against what
# happened (the noisy values), for:
#   ours    erp.forecast_series (model chosen by holdout, see doc/planning.md)
#   ref     statsmodels: SES, additive damped trend and additive weekly
#           Holt-Winters fitted by maximum likelihood, the lowest AIC chosen
#   ref=    statsmodels' fit of the model ours chose (Croston: statsmodels has
#           none, its SES stands in)
# and how often each side chose which model.  statsmodels cannot skip days:
# it gets a censored series with its censored days removed.
# Needs python3-statsmodels: `scripts/deps.sh check-forecast` installs it.
# Usage: scripts/check-forecast.sh [REPLICATES, default 20]
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"
. scripts/pgenv.sh
# Debian's interpreter, which python3-statsmodels installs into (a python3 found
# first on the PATH, e.g. pyenv's, would not see it)
PYTHON=${PYTHON:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3 )}
"$PYTHON" -c 'import statsmodels, numpy' 2>/dev/null || {
    echo "check-forecast: needs python3-statsmodels (apt-get install -y python3-statsmodels)" >&2
    exit 2
}
WORK=$(pg_workdir check-forecast)
DATA=$WORK/data
trap 'pg_stop "$DATA"; rm -rf "$WORK"' EXIT
pg_private_install "$WORK"
pg_start "$DATA" "$(pg_free_port)"
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE EXTENSION inventory_erp'
export PSQL="$PGBIN/psql" REPLICATES=${1:-20}

"$PYTHON" - <<'PY'
import os, subprocess, warnings
from collections import Counter
import numpy as np
from statsmodels.tsa.holtwinters import ExponentialSmoothing

warnings.filterwarnings("ignore")
N, H, REP = 120, 28, int(os.environ["REPLICATES"])
rng = np.random.default_rng(15)
WEEK = np.array([10, -5, -5, 0, 0, 5, -5], dtype=float)

def ours(y):
    arr = "{" + ",".join("NULL" if np.isnan(v) else repr(float(v)) for v in y) + "}"
    sql = ("SELECT string_agg(qty::text, ' ' ORDER BY step), min(model) "
           f"FROM erp.forecast_series('{arr}'::float8[], NULL, {H})")
    out = subprocess.run([os.environ["PSQL"], "-X", "-At", "-d", "postgres", "-c", sql],
                         capture_output=True, text=True, check=True).stdout.strip()
    q, model = out.split("|")
    return np.array([float(x) for x in q.split()]), model

REF = {
    "ses": dict(trend=None, seasonal=None),
    "damped_trend": dict(trend="add", damped_trend=True, seasonal=None),
    "weekly_seasonal": dict(trend=None, seasonal="add", seasonal_periods=7),
}

def ref_fit(y, name):
    r = ExponentialSmoothing(y, initialization_method="estimated", **REF[name]).fit()
    return np.clip(r.forecast(H), 0, None), r.aic

def ref(y):
    y = y[~np.isnan(y)]
    fits = {k: ref_fit(y, k) for k in REF}
    best = min(fits, key=lambda k: fits[k][1])
    return fits, best

def make(kind):
    t = np.arange(N + H)
    noise = rng.normal(0, 2, N + H)
    if kind == "constant":
        truth = np.full(N + H, 20.0)
    elif kind == "trend":
        truth = 50 + 0.5 * t
    elif kind == "weekly":
        truth = 30 + WEEK[t % 7]
    elif kind == "intermittent":
        hit = rng.random(N + H) < 0.25
        y = np.where(hit, 1 + rng.poisson(3, N + H), 0).astype(float)
        return y, np.full(N + H, 0.25 * 4.0), None
    elif kind == "stockout":
        truth = np.full(N + H, 20.0)
        y = np.maximum(truth + noise, 0)
        y[N - 14:N] = np.nan          # two weeks out of stock just before the forecast
        return y, truth, None
    elif kind == "demo-like":
        level = rng.lognormal(2.3, 0.6)
        amp = rng.uniform(0, 0.4) * level
        slope = rng.normal(0, 0.02) * level / 10
        truth = np.maximum(level + slope * t + amp * np.sin(2 * np.pi * t / 7 + rng.uniform(0, 6)), 0.1)
        return rng.poisson(truth).astype(float), truth, None
    return np.maximum(truth + noise, 0), truth, None

print(f"{'series':13} {'n':>3} | {'MAE vs truth':^23} | {'MAE vs actual':^23} | models chosen")
print(f"{'':13} {'':>3} | {'ours':>7} {'ref':>7} {'ref=':>7} | {'ours':>7} {'ref':>7} {'ref=':>7} |")
for kind in ["constant", "trend", "weekly", "intermittent", "stockout", "demo-like"]:
    e = {k: [] for k in ("o_t", "r_t", "s_t", "o_a", "r_a", "s_a")}
    mo, mr = Counter(), Counter()
    reps = REP * 2 if kind == "demo-like" else REP
    for _ in range(reps):
        y, truth, _ = make(kind)
        hist, fut, tfut = y[:N], y[N:], truth[N:]
        fut = np.where(np.isnan(fut), tfut, fut)
        f_o, m_o = ours(hist)
        fits, best = ref(hist)
        f_r = fits[best][0]
        f_s = fits["ses" if m_o in ("croston_sba", "none") else m_o][0]
        mo[m_o] += 1
        mr[best] += 1
        for tag, f in (("o", f_o), ("r", f_r), ("s", f_s)):
            e[tag + "_t"].append(np.mean(np.abs(f - tfut)))
            e[tag + "_a"].append(np.mean(np.abs(f - fut)))
    m = {k: np.mean(v) for k, v in e.items()}
    models = "ours " + ", ".join(f"{k} {v}" for k, v in mo.most_common()) + "; ref " + \
             ", ".join(f"{k} {v}" for k, v in mr.most_common())
    print(f"{kind:13} {reps:3} | {m['o_t']:7.2f} {m['r_t']:7.2f} {m['s_t']:7.2f} | "
          f"{m['o_a']:7.2f} {m['r_a']:7.2f} {m['s_a']:7.2f} | {models}")
PY
