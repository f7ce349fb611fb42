"""A real Streamlit server on 127.0.0.1 and Debian's Chromium, for browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SERVER_OPTIONS = ("--server.headless=true", "--server.address=127.0.0.1", "--browser.gatherUsageStats=false",
                  "--server.fileWatcherType=none", "--server.runOnSave=false")


class Server:
    """The dashboard as ``make run`` starts it, on a free port of 127.0.0.1, reading
    ``store_dir``; ``command`` replaces the start command (the page benchmark's profiler)."""

    def __init__(self, store_dir: Path, log_path: Path, *, options: tuple[str, ...] = (), command=None):
        from vsm_app.serve import command as serve_command

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.store_dir = store_dir
        env = dict(os.environ, VSM_STORE=str(store_dir))
        if not any(option.startswith("--secrets.files") for option in options):
            # A developer's own .streamlit/secrets.toml (login switched on) must not change the tests.
            empty = Path(log_path).with_suffix(".secrets.toml")
            empty.write_text("")
            options = (*options, f"--secrets.files={empty}")
        args = (*SERVER_OPTIONS, f"--server.port={self.port}", *options)
        self.log = open(log_path, "w")  # noqa: SIM115 -- the server writes to it until stop()
        self.process = subprocess.Popen(
            command(*args) if command else serve_command(*args),
            cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"the dashboard did not start; see {log_path}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def wait_for_run(page, timeout_ms: int = 60_000) -> None:
    """Wait until the app has finished a script run (Streamlit's own end-to-end rule)."""
    page.wait_for_timeout(300)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout_ms)
    page.wait_for_function("document.querySelectorAll(\"[data-testid='stSkeleton']\").length === 0", timeout=timeout_ms)


def metric(page, label: str) -> str:
    """The value shown by the metric labelled ``label`` (the first one on the page)."""
    box = page.get_by_test_id("stMetric").filter(has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)).first
    return box.get_by_test_id("stMetricValue").inner_text()


def upload_sample(page, base_url: str, real: Path) -> None:
    """Upload the real jirametrics sample (export, status list, board) as "Sample project"
    through the Upload page's file picker and wait for the import to finish."""
    page.goto(base_url + "/upload")
    wait_for_run(page, timeout_ms=120_000)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files([
        str(real / "jirametrics_sample_search_6issues.json"),
        str(real / "jirametrics_sample_statuses.json"),
        str(real / "jirametrics_sample_board_configuration.json"),
    ])
    page.get_by_label("Dataset name").fill("Sample project")
    page.get_by_role("button", name="Import").click()
    page.get_by_text("Imported 6 issues and 15 status changes").wait_for(timeout=60_000)
