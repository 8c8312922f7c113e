#!/usr/bin/python3
"""console_browser.py TRIM_BIN SOURCE_DIR: `trim console` in headless Chromium.

Makes a known store with `trim run` (thr:0.5, strong and weak on the same
problems, and a run whose one problem is markup), a `trim eval` curve, and
serves them with `trim console`.  Then, in Debian's chromium driven by
chromedriver through python3-selenium: each page loads and shows the
numbers `trim run --json` and SQL give; changing the ROI calculator's
inputs changes its output to what `trim roi --json` prints for the same
inputs; the markup problem is inert (its script would set window.pwned
and the title); the browser logs no error (a Content-Security-Policy
violation would be one).

With CONSOLE_SCREENSHOTS=DIR it also writes DIR/console-trace.png and
DIR/console-roi.png (scripts/console-screenshots; the test never writes
into the source tree by itself).

Exit 77 (skipped, printing why) when chromium, chromedriver or selenium
is missing; under CI=true that is exit 1 instead (tests/skip.h's rule).
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

MARKUP = "<script>document.title='pwned';window.pwned=1</script>"
ANSWER = '<img src=x onerror="window.pwned=2">'
PROBLEMS = 30


def skip(why):
    if os.environ.get("CI") == "true":
        print(f"console_browser: ERROR: a skip fails under CI=true: {why}")
        sys.exit(1)
    print(f"console_browser: skipped: {why}")
    sys.exit(77)


try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError as e:
    skip(f"python3-selenium is not installed ({e}); "
         "apt-get install python3-selenium")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def run(trim, cwd, *args):
    out = subprocess.run([trim, *args], cwd=cwd, capture_output=True,
                         text=True, timeout=600)
    if out.returncode != 0:
        sys.exit(f"trim {' '.join(args)}: exit {out.returncode}: "
                 f"{out.stderr}")
    return out.stdout


def make_store(trim, d):
    first = json.loads(run(trim, d, "run", "--db", "trim.db", "--problems",
                           str(PROBLEMS), "--policy", "thr:0.5", "--json",
                           "--no-progress"))
    for policy in ("strong", "weak"):
        run(trim, d, "run", "--db", "trim.db", "--problems", str(PROBLEMS),
            "--policy", policy, "--no-progress")
    db = sqlite3.connect(os.path.join(d, "trim.db"))
    db.execute("INSERT INTO runs (run_id, policy, seed, config, started_ms,"
               " finished_ms) VALUES (4, 'thr:0.5', 1, '{}', 1, 2)")
    db.execute("INSERT INTO problems (problem_id, run_id, source, text,"
               " ground_truth, status, final_answer, correct, steps,"
               " regenerated_steps, weak_tokens, strong_tokens,"
               " discarded_tokens, prm_tokens, created_ms, finished_ms)"
               " VALUES (1000, 4, 'x:1', ?, '7', 'finished', ?, 0, 1, 0, 5,"
               " 0, 0, 9, 1, 2)", (MARKUP, ANSWER))
    db.execute("INSERT INTO steps (problem_id, step_index, kind, attempt,"
               " text, prompt_tokens, completion_tokens, finish, prm_score,"
               " prm_tokens, decision, policy, reason, accepted, latency_us,"
               " created_ms) VALUES (1000, 0, 'draft', 0, ?, 10, 5, 1, 0.9,"
               " 9, 'keep', 'thr:0.5', ?, 1, 10, 1)", (MARKUP, ANSWER))
    db.commit()
    db.close()
    run(trim, d, "eval", "--policies", "thr", "--problems", "20", "--seeds",
        "2", "--db", "eval.db", "--out", "ev")
    return first


def start_console(trim, d, prices):
    p = subprocess.Popen([trim, "console", "--db", "trim.db", "--listen",
                          "127.0.0.1:0", "--prices", prices, "--curve",
                          "ev/eval.json", "--log-level", "warn"], cwd=d,
                         stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()  # printed once it listens
    if "http://" not in line:
        p.kill()
        sys.exit(f"trim console did not start: {line!r}")
    return p, line.split()[2]  # "console on URL (...)"


def browser():
    if not os.access(CHROMIUM, os.X_OK) or not os.access(DRIVER, os.X_OK):
        skip(f"{CHROMIUM} or {DRIVER} is missing; "
             "apt-get install chromium chromium-driver")
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", "--window-size=1400,1100"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(DRIVER), options=o)


class Page:
    def __init__(self, drv, base):
        self.d, self.base = drv, base
        self.wait = WebDriverWait(drv, 30)

    def settled(self):
        """Wait for the view to be drawn after stale() (or a load)."""
        self.wait.until(lambda d: d.execute_script(
            "return document.body.dataset.view") not in
            (None, "loading", "stale"))
        return self.d.execute_script("return document.body.dataset.view")

    def stale(self):
        """Mark the current view, so settled() waits for the next."""
        self.d.execute_script("document.body.dataset.view = 'stale'")

    def open(self, hash_):
        if self.d.current_url.startswith(self.base):
            self.stale()
        self.d.get(self.base + hash_)
        view = self.settled()
        if view == "error":
            raise AssertionError(f"{hash_}: " + self.text("#error"))

    def text(self, css):
        return self.d.find_element(By.CSS_SELECTOR, css).text

    def all(self, css):
        return self.d.find_elements(By.CSS_SELECTOR, css)


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"ok: {what}")


def main(trim, src):
    d = tempfile.mkdtemp(prefix="trim-console-browser-")
    prices = os.path.join(src, "docs", "prices.example.json")
    console = drv = None
    try:
        first = make_store(trim, d)
        console, base = start_console(trim, d, prices)
        drv = browser()
        p = Page(drv, base)
        db = sqlite3.connect(os.path.join(d, "trim.db"))
        q = lambda sql, *a: db.execute(sql, a).fetchone()[0]

        # Runs: run 1's numbers as `trim run --json` printed them.
        p.open("#/runs")
        row = p.d.find_element(By.CSS_SELECTOR, "#runs tr[data-run='1']")
        cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
        check(cells[1] == "thr:0.5", "runs: run 1's policy")
        check(cells[2] == str(PROBLEMS), "runs: run 1's problems")
        check(cells[3] == f"{first['accuracy']:.3f}",
              f"runs: run 1's accuracy {cells[3]}")
        check(cells[5] == f"{first['strong_tokens']:,}",
              f"runs: run 1's strong tokens {cells[5]}")
        check(cells[6] == f"{first['strong_token_share']:.3f}",
              "runs: run 1's strong share")
        check(cells[7].startswith("$"), "runs: run 1's dollars")
        check(len(p.all("#runs tbody tr")) == 4, "runs: four runs")

        # A run's wrong answers, filtered by the page's own form.
        p.open("#/run/1")
        p.d.find_element(By.CSS_SELECTOR,
                         "#filter-outcome option[value='wrong']").click()
        p.stale()
        p.d.find_element(By.ID, "filter-apply").click()
        check(p.settled() == "run" and "outcome=wrong" in drv.current_url,
              "run 1: the filter applied")
        wrong = q("SELECT count(*) FROM problems WHERE run_id = 1 AND"
                  " status = 'finished' AND correct = 0")
        check(len(p.all("#problems tbody tr")) == wrong,
              f"run 1: {wrong} wrong answers listed")
        check(p.text("#run-accuracy") == f"{first['accuracy']:.3f}",
              "run 1: its accuracy")

        # A trace: every draft on the chart, the threshold, the strong steps.
        pid = q("SELECT min(problem_id) FROM problems WHERE run_id = 1 AND"
                " regenerated_steps > 0")
        p.open(f"#/problem/{pid}")
        drafts = q("SELECT count(*) FROM steps WHERE problem_id = ? AND"
                   " kind = 'draft'", pid)
        strong = q("SELECT count(*) FROM steps WHERE problem_id = ? AND"
                   " kind = 'strong'", pid)
        check(len(p.all("#trace tr[data-kind='draft']")) == drafts,
              f"trace: {drafts} drafts")
        check(len(p.all("#trace tr[data-kind='strong']")) == strong,
              f"trace: {strong} strong steps")
        check(len(p.all("#trace-chart circle.pt-regenerate")) == strong,
              "trace: the regenerated drafts on the chart")
        check(p.text("#problem-threshold") == "0.500", "trace: threshold")
        check(p.text("#problem-truth") ==
              q("SELECT ground_truth FROM problems WHERE problem_id = ?", pid),
              "trace: the ground truth")
        if os.environ.get("CONSOLE_SCREENSHOTS"):
            drv.save_screenshot(os.path.join(
                os.environ["CONSOLE_SCREENSHOTS"], "console-trace.png"))

        # The markup problem: shown as text, its script never ran.
        p.open("#/problem/1000")
        check(p.text("#problem-text") == MARKUP, "markup: shown as text")
        check(p.text("#problem-answer") == ANSWER, "markup answer: as text")
        check(drv.title == "trim console", "markup: the title is untouched")
        check(drv.execute_script("return window.pwned === undefined"),
              "markup: its script did not run")
        check(not p.all("main script") and not p.all("main img"),
              "markup: no element made from it")
        p.open("#/run/4?text=%3Cscript")
        check(len(p.all("#problems tbody tr")) == 1, "markup: found by text")
        check(drv.execute_script("return window.pwned === undefined"),
              "markup: still inert in the list")

        # Compare runs 1 and 2.
        p.open("#/compare/1/2")
        check(p.text("#paired") == str(PROBLEMS), "compare: every pair")

        # Curves: one line per policy of the eval result.
        p.open("#/curves")
        with open(os.path.join(d, "ev", "eval.json")) as f:
            ev = json.load(f)
        check(len(p.all("#curve-chart polyline")) == len(ev["policies"]),
              "curves: a line per eval policy")
        check(len(p.all("#curve-chart circle")) >= 3,
              "curves: the store's runs")

        # ROI: change the inputs (volume, target, fixed cost and a price);
        # the page shows what trim roi computes for the same ones.
        book = json.load(open(prices))
        strong = book["models"][book["roles"]["strong"]]
        for out_price in ("", "9"):
            book_out = dict(strong, output_usd_per_mtok=float(out_price or
                            strong["output_usd_per_mtok"]))
            book["models"][book["roles"]["strong"]] = book_out
            with open(os.path.join(d, f"prices{out_price}.json"), "w") as f:
                json.dump(book, f)
        p.open("#/roi")
        p.wait.until(lambda d: d.find_elements(By.ID, "roi-monthly-policy"))
        for volume, target, fixed, out_price in (("250000", "0.6", "0", ""),
                                                 ("40000", "0.9", "500",
                                                  "9")):
            for css, value in (("#roi-volume", volume),
                               ("#roi-target", target),
                               ("#roi-fixed", fixed),
                               ("#roi-strong-output", out_price)):
                if value == "":
                    continue
                e = drv.find_element(By.CSS_SELECTOR, css)
                e.clear()
                e.send_keys(value)
            want = json.loads(run(trim, d, "roi", "--prices",
                                  f"prices{out_price}.json",
                                  "--curve", "ev/eval.json", "--volume",
                                  volume, "--target-pgr", target,
                                  "--fixed-monthly", fixed, "--json"))

            def value(css):
                return drv.find_element(By.CSS_SELECTOR, css) \
                          .get_attribute("data-value")

            def shown(drv):
                r = drv.find_element(By.ID, "roi-result")
                got = value("#roi-monthly-policy")
                return (r.get_attribute("data-volume") == volume and
                        r.get_attribute("data-target") == target and
                        got is not None and want["monthly_policy_usd"]
                        is not None and
                        abs(float(got) - want["monthly_policy_usd"]) <=
                        1e-9 * abs(want["monthly_policy_usd"]))
            try:
                p.wait.until(shown)
            except Exception:
                pass  # the checks below say what differs
            for css, key in (("#roi-monthly-policy", "monthly_policy_usd"),
                             ("#roi-monthly-strong",
                              "monthly_strong_only_usd"),
                             ("#roi-savings", "savings_usd")):
                got = value(css)
                check(want[key] is not None and got is not None and
                      abs(float(got) - want[key]) <= 1e-9 * abs(want[key]),
                      f"roi at {volume}/{target}/fixed {fixed}/strong output "
                      f"{out_price or 'book'}: {key} {got} = trim roi's "
                      f"{want[key]}")
        if os.environ.get("CONSOLE_SCREENSHOTS"):
            drv.save_screenshot(os.path.join(
                os.environ["CONSOLE_SCREENSHOTS"], "console-roi.png"))

        errors = [e for e in drv.get_log("browser")
                  if e["level"] == "SEVERE"]
        check(not errors, f"no browser error: {errors}")
        db.close()
    finally:
        if drv is not None:
            drv.quit()
        if console is not None:
            console.terminate()
            if console.wait(timeout=30) != 0:
                print(f"trim console exited {console.returncode}")
                sys.exit(1)
        shutil.rmtree(d, ignore_errors=True)
    print("console_browser: all passed")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: console_browser.py TRIM_BIN SOURCE_DIR")
    main(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]))
