"""Pulling datasets straight from Jira's REST API: ``client`` talks to Jira politely,
``pull`` turns what it fetches into a dataset (or a refreshed data version of one)."""

from vsm_core.jira.client import Credentials, JiraClient, PullCancelled, PullProblem
from vsm_core.jira.pull import PullResult, pull, pull_record

__all__ = ["Credentials", "JiraClient", "PullCancelled", "PullProblem", "PullResult", "pull", "pull_record"]
