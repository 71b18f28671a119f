"""Synthetic runbook sets for benchmarks: ``python -m runbinder.bench.generate N DIR [--seed S]``.

Writes ``DIR/catalog.yaml`` (severities, roles, teams and people, tools, site-wide policy, checklist, template
and variables), one ``DIR/<service>/service.catalog.yaml`` per service (the service, its on-call rotation,
its escalation policy and triage checklist) and N runbooks spread over about N/10 services. Each runbook has
what real ones have: alerts, three or four time-boxed phases of steps with bash, SQL and PromQL commands
(the ones that change state marked destructive), placeholders declared and used, a decision flow,
escalation by policy or inline levels, hand-overs to and links between runbooks (within the service and to
its dependencies), tags, references, history and review dates.

The files are valid (``runbinder validate DIR`` reports nothing) and clean for ``runbinder check`` (every
program a command runs is in the tools inventory, destructive commands are marked, shell variables are
quoted). The same N and seed always give byte-identical files.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Data = dict[str, Any]

RUNBOOKS_PER_SERVICE = 10

# Service names are <domain>-<component>; 40 x 24 = 960 before a numeric suffix is needed.
DOMAINS = [
    "accounts", "billing", "catalog", "checkout", "search", "payments", "identity", "ledger", "orders",
    "shipping", "inventory", "pricing", "notifications", "messaging", "media", "reporting", "analytics",
    "profile", "session", "consent", "fraud", "risk", "tax", "invoicing", "refunds", "loyalty", "reviews",
    "recommendations", "ads", "partner", "onboarding", "support", "audit", "scheduler", "geo", "maps",
    "feeds", "export", "import", "gateway",
]  # fmt: skip
COMPONENTS = [
    "api", "worker", "gateway", "db", "cache", "queue", "scheduler", "indexer", "web", "sync", "proxy",
    "store", "stream", "batch", "admin", "edge", "auth", "events", "cron", "router", "ingest", "reader",
    "writer", "search",
]  # fmt: skip
TEAMS_PER_DOMAIN_GROUP = 4  # services per owning team, roughly
FIRST_NAMES = ["Alex", "Sam", "Robin", "Kim", "Jordan", "Maria", "Chen", "Priya", "Omar", "Lena", "Tomás", "Aiko"]


@dataclass(frozen=True)
class Scenario:
    """What goes wrong, and how responders recognise and fix it."""

    slug: str
    title: str
    kind: str
    severity: str
    condition: str
    symptoms: tuple[str, ...]
    impact: tuple[str, ...]
    needs: tuple[str, ...]  # command families used by the fix: db, cache, queue, disk, deploy, tls, traffic


SCENARIOS = [
    Scenario("high-error-rate", "High error rate", "alert-response", "sev2", "5xx rate > 5% for 5 minutes",
             ("HTTP 5xx responses above 5%", "Error logs growing", "Retries from clients"),
             ("Requests fail for a share of users",), ("deploy", "traffic")),
    Scenario("high-latency", "High latency", "alert-response", "sev3", "P95 latency > 2 s for 10 minutes",
             ("P95 latency above 2 seconds", "Timeouts in dependent services"),
             ("Slow pages and API calls",), ("db", "traffic")),
    Scenario("service-down", "Service down", "incident-procedure", "sev1", "Health check failing on every pod",
             ("Health endpoint returns errors", "No successful requests"),
             ("The service is unavailable", "Dependent services degrade"), ("deploy",)),
    Scenario("database-connection-failures", "Database connection failures", "alert-response", "sev1",
             "Connection errors > 10 per minute", ("Connection refused or timeout errors", "Pool exhausted"),
             ("Writes and reads fail",), ("db",)),
    Scenario("slow-queries", "Slow database queries", "troubleshooting", "sev3", "Query time P95 > 500 ms",
             ("Long-running queries", "Lock waits"), ("Requests slow down",), ("db",)),
    Scenario("replication-lag", "Replication lag", "alert-response", "sev2", "Replica lag > 30 s",
             ("Stale reads", "Replica lag growing"), ("Users see outdated data",), ("db",)),
    Scenario("disk-space-critical", "Disk space critical", "alert-response", "sev2", "Disk usage > 90%",
             ("Disk above 90%", "Write errors in logs"), ("Writes fail soon",), ("disk",)),
    Scenario("cache-failure", "Cache failure", "incident-procedure", "sev2", "Cache hit rate < 50%",
             ("Cache misses", "Higher database load"), ("Latency rises", "Database overload risk"), ("cache",)),
    Scenario("queue-backlog", "Queue backlog", "alert-response", "sev3", "Queue depth > 10,000 for 15 minutes",
             ("Jobs waiting", "Workers idle or crashing"), ("Delayed e-mails and webhooks",), ("queue",)),
    Scenario("failed-jobs", "Failed jobs", "troubleshooting", "sev3", "Failed jobs > 100 per hour",
             ("Failed jobs accumulating",), ("Work silently dropped",), ("queue",)),
    Scenario("memory-pressure", "Memory pressure", "alert-response", "sev3", "Memory usage > 90% of limit",
             ("OOM kills", "Pods restarting"), ("Intermittent failures",), ("deploy",)),
    Scenario("pod-crash-loop", "Pod crash loop", "alert-response", "sev2", "CrashLoopBackOff for 5 minutes",
             ("Pods restarting", "Readiness failing"), ("Reduced capacity",), ("deploy",)),
    Scenario("certificate-expiry", "TLS certificate expiry", "maintenance", "sev2",
             "Certificate expires within 14 days", ("Expiry warnings",), ("Clients will refuse connections",),
             ("tls",)),
    Scenario("traffic-spike", "Traffic spike", "incident-procedure", "sev2", "Request rate > 3x baseline",
             ("Request rate far above baseline", "Autoscaler at maximum"), ("Saturation", "Rate limiting"),
             ("traffic",)),
    Scenario("dependency-outage", "Dependency outage", "incident-procedure", "sev2",
             "Upstream error rate > 20%", ("Errors calling an upstream service",), ("Features depending on it fail",),
             ("traffic",)),
    Scenario("bad-deployment", "Bad deployment", "deployment", "sev2", "Error rate rises after a release",
             ("Errors started with a release",), ("Regression for users",), ("deploy",)),
    Scenario("standard-deployment", "Standard deployment", "deployment", "sev4", "Planned release",
             ("A release is scheduled",), ("None when it goes well",), ("deploy",)),
    Scenario("database-maintenance", "Database maintenance", "maintenance", "sev4", "Planned maintenance window",
             ("Table bloat", "Dead tuples accumulating"), ("Short slowdowns",), ("db",)),
    Scenario("cache-maintenance", "Cache maintenance", "maintenance", "sev4", "Planned maintenance window",
             ("Memory fragmentation",), ("Short latency increase",), ("cache",)),
    Scenario("log-volume", "Log volume explosion", "troubleshooting", "sev3", "Log rate > 5x baseline",
             ("Log ingestion costs rising", "Disk filling with logs"), ("Logs dropped",), ("disk",)),
    Scenario("rate-limit-abuse", "Rate limit abuse", "incident-procedure", "sev2",
             "Blocked requests > 1,000 per minute",
             ("Requests from few addresses", "Rate limiter rejecting"), ("Legitimate users throttled",),
             ("traffic",)),
    Scenario("stuck-locks", "Stuck distributed locks", "troubleshooting", "sev3", "Lock held > 10 minutes",
             ("Jobs waiting on a lock",), ("Scheduled work stalls",), ("cache", "queue")),
    Scenario("data-export-failure", "Data export failure", "troubleshooting", "sev3", "Nightly export failed",
             ("Export job failed",), ("Reports are incomplete",), ("queue", "db")),
    Scenario("post-incident-review", "Post-incident review", "process", "sev4", "An incident was resolved",
             ("An incident closed in the last 5 days",), ("None",), ("traffic",)),
]  # fmt: skip

VARIABLE_DOCS = {
    "NAMESPACE": "Kubernetes namespace of the service (the service's own, unless it was moved).",
    "POD": "Name of the failing pod, from `kubectl get pods`.",
    "REPLICAS": "Number of replicas to scale to (check the capacity plan).",
    "REVISION": "Deployment revision to roll back to, from `kubectl rollout history`.",
    "DB_HOST": "Primary database host of the service.",
    "REDIS_HOST": "Redis host of the service.",
    "LOCK_KEY": "The stuck lock's key, from the worker logs.",
    "JOB_ID": "Identifier of the failed job.",
    "DB_INSTANCE": "RDS instance identifier of the service's database.",
    "CLIENT_IP": "Address of the abusive client, from the access logs.",
}


def _commands(family: str, svc: str, db: str, rng: random.Random) -> list[Data]:
    """Commands of one family for service ``svc``; placeholders are declared by the caller from what is used."""
    host = f"https://{svc}.internal.example.com"
    ns = '-n "$NAMESPACE"'
    families: dict[str, list[Data]] = {
        "inspect": [
            {"title": "Pod status", "code": f"kubectl get pods {ns} -l app={svc} -o wide"},
            {
                "title": "Recent errors",
                "code": f"kubectl logs {ns} deploy/{svc} --since=15m | grep -i error | tail -50",
            },
            {"title": "Health", "code": f"curl -fsS {host}/healthz | jq '.status'"},
            {"title": "Resource usage", "code": f"kubectl top pods {ns} -l app={svc}"},
            {"title": "Describe the failing pod", "code": f'kubectl describe pod {ns} "$POD"'},
        ],
        "metrics": [
            {
                "title": "Error ratio",
                "language": "promql",
                "code": f'sum(rate(http_requests_total{{service="{svc}",code=~"5.."}}[5m]))\n'
                f'  / sum(rate(http_requests_total{{service="{svc}"}}[5m]))',
            },
            {
                "title": "P95 latency",
                "language": "promql",
                "code": "histogram_quantile(0.95, sum by (le) (rate("
                f'http_request_duration_seconds_bucket{{service="{svc}"}}[5m])))',
            },
        ],
        "deploy": [
            {"title": "Rollout history", "code": f"kubectl rollout history deployment/{svc} {ns}"},
            {
                "title": "Roll back",
                "code": f'kubectl rollout undo deployment/{svc} {ns} --to-revision="$REVISION"',
                "destructive": True,
                "note": "Roll back only when the errors started with the last release.",
            },
            {
                "title": "Restart the pods",
                "code": f"kubectl rollout restart deployment/{svc} {ns}",
                "destructive": True,
            },
            {"title": "Watch the rollout", "code": f"kubectl rollout status deployment/{svc} {ns} --timeout=5m"},
        ],
        "traffic": [
            {
                "title": "Scale out",
                "code": f'kubectl scale deployment/{svc} {ns} --replicas="$REPLICAS"',
                "destructive": True,
            },
            {
                "title": "Top clients",
                "code": f"kubectl logs {ns} deploy/{svc} --since=10m | awk '{{print $1}}' "
                "| sort | uniq -c | sort -rn | head",
            },
            {
                "title": "Block the client",
                "code": 'sudo iptables -I INPUT -s "$CLIENT_IP" -j DROP',
                "destructive": True,
            },
        ],
        "db": [
            {
                "title": "Connections by state",
                "code": f'psql -h "$DB_HOST" -U "$DB_USER" -d {db} '
                '-c "SELECT state, count(*) FROM pg_stat_activity GROUP BY state;"',
            },
            {
                "title": "Longest running queries",
                "language": "sql",
                "dialect": "postgres",
                "code": "SELECT pid, now() - query_start AS duration, state, left(query, 80) AS query\n"
                "FROM pg_stat_activity\n"
                f"WHERE datname = '{db}' AND state <> 'idle'\n"
                "ORDER BY duration DESC\nLIMIT 20;",
            },
            {
                "title": "End idle transactions",
                "language": "sql",
                "dialect": "postgres",
                "code": "SELECT pg_terminate_backend(pid)\nFROM pg_stat_activity\n"
                f"WHERE datname = '{db}' AND state = 'idle in transaction'\n"
                "  AND now() - state_change > interval '10 minutes';",
                "destructive": True,
            },
            {
                "title": "Dead tuples",
                "language": "sql",
                "dialect": "postgres",
                "code": "SELECT relname, n_dead_tup FROM pg_stat_user_tables ORDER BY n_dead_tup DESC LIMIT 10;",
            },
            {
                "title": "Database instance status",
                "code": 'aws rds describe-db-instances --db-instance-identifier "$DB_INSTANCE" '
                "--query 'DBInstances[0].DBInstanceStatus'",
            },
        ],
        "cache": [
            {"title": "Memory", "code": 'redis-cli -h "$REDIS_HOST" info memory | grep used_memory_human'},
            {"title": "Hit rate", "code": 'redis-cli -h "$REDIS_HOST" info stats | grep keyspace_'},
            {"title": "Find locks", "code": f"redis-cli -h \"$REDIS_HOST\" --scan --pattern '{svc}:lock:*' | head -20"},
            {
                "title": "Release the stuck lock",
                "code": f'redis-cli -h "$REDIS_HOST" del "{svc}:lock:$LOCK_KEY"',
                "destructive": True,
            },
        ],
        "queue": [
            {"title": "Queue depth", "code": f'curl -fsS -H "Authorization: Bearer $TOKEN" {host}/admin/queues | jq .'},
            {
                "title": "Retry the failed job",
                "code": f'curl -fsS -X POST -H "Authorization: Bearer $TOKEN" "{host}/admin/jobs/$JOB_ID/retry"',
            },
            {
                "title": "Purge old failed jobs",
                "language": "sql",
                "dialect": "postgres",
                "code": "DELETE FROM failed_jobs WHERE failed_at < now() - interval '7 days';",
                "destructive": True,
            },
        ],
        "disk": [
            {"title": "Disk usage", "code": f"df -h /var/lib/{svc}"},
            {"title": "Largest directories", "code": f"du -sh /var/log/{svc}/* | sort -rh | head -20"},
            {
                "title": "Delete old logs",
                "code": f"find /var/log/{svc} -name '*.log' -mtime +7 -delete",
                "destructive": True,
            },
        ],
        "tls": [
            {
                "title": "Expiry date",
                "code": f"openssl s_client -connect {svc}.example.com:443 -servername {svc}.example.com "
                "</dev/null 2>/dev/null | openssl x509 -noout -enddate",
            },
            {"title": "Renew", "code": "sudo certbot renew --cert-name example.com", "destructive": True},
        ],
    }
    chosen = families[family]
    picked = rng.sample(chosen, k=min(len(chosen), rng.randint(1, 3)))
    return [{"language": "bash", **c, "code": str(c["code"]) + "\n"} for c in picked]


def _placeholders(code: str) -> list[str]:
    return [name for name in VARIABLE_DOCS if f"${name}" in code or f"${{{name}}}" in code]


@dataclass
class Service:
    """One generated service and the runbooks it gets."""

    ident: str
    name: str
    team: str
    dependencies: list[str]
    runbooks: list[tuple[str, Scenario]]


def _service_names(count: int, rng: random.Random) -> list[str]:
    pairs = [f"{d}-{c}" for d in DOMAINS for c in COMPONENTS]
    rng.shuffle(pairs)
    names = []
    for n in range(count):
        base = pairs[n % len(pairs)]
        names.append(base if n < len(pairs) else f"{base}-{n // len(pairs) + 1}")
    return names


def plan(count: int, seed: int) -> list[Service]:
    """Which services exist and which runbooks each gets (ids and scenarios), deterministic from the seed."""
    rng = random.Random(seed)
    n_services = max(1, -(-count // RUNBOOKS_PER_SERVICE))
    names = _service_names(n_services, rng)
    services: list[Service] = []
    for index, ident in enumerate(names):
        group = index // TEAMS_PER_DOMAIN_GROUP
        team = f"{names[group * TEAMS_PER_DOMAIN_GROUP].split('-')[0]}-team-{group + 1}"
        earlier = [s.ident for s in services[-20:]]
        deps = sorted(rng.sample(earlier, k=min(len(earlier), rng.randint(0, 2))))
        services.append(Service(ident, ident.replace("-", " ").title(), team, deps, []))
    for n in range(count):
        service = services[n % n_services]
        used = {s.slug for _, s in service.runbooks}
        scenario = rng.choice([s for s in SCENARIOS if s.slug not in used] or SCENARIOS)
        ident = f"{service.ident}-{scenario.slug}"
        if scenario.slug in used:  # more runbooks than scenarios for one service
            ident = f"{ident}-{len(service.runbooks)}"
        service.runbooks.append((ident, scenario))
    return services


def catalog(services: Sequence[Service]) -> Data:
    """The site catalog: everything shared by all services."""
    teams = sorted({s.team for s in services})
    severities = [
        ("sev1", "Critical", "Complete outage or data loss", "15m", "1h", "#b71c1c"),
        ("sev2", "High", "Major functionality degraded", "30m", "4h", "#e65100"),
        ("sev3", "Medium", "Minor functionality or performance degraded", "2h", "24h", "#f9a825"),
        ("sev4", "Low", "No user impact", "24h", "1w", "#2e7d32"),
    ]
    people = [
        {"id": f"{first.lower().replace('á', 'a')}-manager", "name": f"{first} (engineering manager)", "type": "person"}
        for first in FIRST_NAMES
    ]
    return {
        "site": {
            "name": "Synthetic runbooks",
            "description": f"{len(services)} generated services for benchmarks.",
            "review_interval": "365d",
            "start_here": [
                "Acknowledge the alert.",
                "Open the runbook the alert links to.",
                "Escalate after 30 minutes.",
            ],
        },
        "severities": [
            {
                "id": ident,
                "name": name,
                "aliases": [ident.upper(), f"P{n}"],
                "summary": summary,
                "criteria": [summary],
                "response": ["Page the on-call" if n < 2 else "Open a ticket"],
                "response_time": response,
                "resolution_time": resolution,
                "color": color,
            }
            for n, (ident, name, summary, response, resolution, color) in enumerate(severities)
        ],
        "roles": [
            {"id": "primary-on-call", "name": "Primary on-call", "responsibilities": ["Acknowledge", "Triage"]},
            {"id": "secondary-on-call", "name": "Secondary on-call", "responsibilities": ["Back up the primary"]},
            {
                "id": "incident-commander",
                "name": "Incident commander",
                "severities": ["sev1", "sev2"],
                "responsibilities": ["Coordinate", "Communicate"],
            },
        ],
        "contacts": [
            *(
                {
                    "id": team,
                    "name": team.replace("-", " ").capitalize(),
                    "type": "team",
                    "methods": [
                        {"type": "chat", "value": f"#{team}"},
                        {"type": "email", "value": f"{team}@example.com"},
                    ],
                }
                for team in teams
            ),
            *people,
            {"id": "sre-team", "name": "SRE team", "type": "team", "methods": [{"type": "chat", "value": "#sre"}]},
        ],
        "escalation_policies": [
            {
                "id": "site-escalation",
                "name": "Site-wide escalation",
                "levels": [
                    {"to": ["primary-on-call"], "method": "page", "via": "pagerduty"},
                    {"after": "30m", "to": ["secondary-on-call"], "method": "page", "via": "pagerduty"},
                    {"after": "1h", "to": ["incident-commander", "sre-team"], "method": "chat", "via": "slack"},
                ],
            }
        ],
        "tools": [
            {"id": "pagerduty", "name": "PagerDuty", "purpose": "Paging", "access_level": "Responder"},
            {"id": "slack", "name": "Slack", "purpose": "Incident channels", "url": "#incidents"},
            {"id": "grafana", "name": "Grafana", "purpose": "Dashboards", "url": "https://grafana.example.com"},
            {"id": "kubernetes", "name": "Kubernetes", "purpose": "Pods and deployments", "executables": ["kubectl"]},
            {"id": "http-client", "name": "curl and jq", "purpose": "HTTP endpoints", "executables": ["curl", "jq"]},
            {"id": "postgresql-client", "name": "psql", "purpose": "Databases", "executables": ["psql"]},
            {"id": "redis-client", "name": "redis-cli", "purpose": "Caches and locks", "executables": ["redis-cli"]},
            {"id": "aws-cli", "name": "AWS CLI", "purpose": "Cloud resources", "executables": ["aws"]},
            {"id": "host-admin", "name": "Host tools", "purpose": "Firewall", "executables": ["iptables"]},
            {
                "id": "tls-tools",
                "name": "OpenSSL and Certbot",
                "purpose": "Certificates",
                "executables": ["openssl", "certbot"],
            },
        ],
        "templates": [
            {
                "id": "status-update",
                "name": "Status update",
                "audience": "internal",
                "channel": "Slack",
                "subject": "[{severity}] {service} incident",
                "body": "**Status:** {status}\n\n**Impact:** {impact}\n\n**Next update:** in 30 minutes\n",
                "variables": [
                    {"name": name, "description": f"The incident's {name}."}
                    for name in ("severity", "service", "status", "impact")
                ],
            }
        ],
        "checklists": [
            {
                "id": "recovery-validation",
                "title": "Recovery validation",
                "items": ["Error rate back to baseline", "Alerts resolved", "Status page updated"],
            }
        ],
        "variables": [
            {"name": "TOKEN", "description": "Your API token for the admin endpoints.", "secret": True},
            {"name": "DB_USER", "description": "Your read-only database user."},
        ],
    }


def service_catalog(service: Service) -> Data:
    """A service's own catalog file: the service, its rotation, its escalation policy and triage checklist."""
    rotation = f"{service.ident}-on-call"
    return {
        "contacts": [
            {
                "id": rotation,
                "name": f"{service.name} on-call",
                "type": "rotation",
                "methods": [{"type": "pager", "value": f"{service.ident} (PagerDuty)"}],
            }
        ],
        "services": [
            {
                "id": service.ident,
                "name": service.name,
                "description": f"The {service.name} service. Runs on Kubernetes in namespace `{service.ident}`.",
                "owner": service.team,
                "escalation_policy": f"{service.ident}-escalation",
                **({"dependencies": service.dependencies} if service.dependencies else {}),
                "external_dependencies": ["PostgreSQL", "Redis"],
                "metrics": [{"name": "Error rate", "target": "< 1%"}, {"name": "P95 latency", "target": "< 500 ms"}],
                "links": [{"title": "Dashboard", "url": f"https://grafana.example.com/d/{service.ident}"}],
                "tags": [service.ident.split("-")[0]],
            }
        ],
        "escalation_policies": [
            {
                "id": f"{service.ident}-escalation",
                "name": f"{service.name} escalation",
                "service": service.ident,
                "levels": [
                    {"to": [rotation], "method": "page", "via": "pagerduty"},
                    {"after": "30m", "to": [service.team], "method": "chat", "via": "slack"},
                    {"after": "1h", "to": ["incident-commander"], "method": "page", "via": "pagerduty"},
                ],
            }
        ],
        "checklists": [
            {
                "id": f"{service.ident}-triage",
                "title": f"{service.name} triage",
                "sections": [
                    {"title": "Scope", "timebox": "5m", "items": ["Which endpoints?", "Since when?"]},
                    {"title": "Changes", "timebox": "5m", "items": ["Recent deployments?", "Config changes?"]},
                ],
            }
        ],
    }


STEP_TITLES = {
    "inspect": ["Check pod status and recent errors", "Confirm the health endpoint", "Look at resource usage"],
    "metrics": ["Read the error ratio and latency", "Compare with last week's traffic"],
    "deploy": ["Check the last release", "Roll back or restart", "Watch the rollout finish"],
    "traffic": ["Find where the traffic comes from", "Add capacity", "Block abusive clients"],
    "db": ["Check database connections", "Find long-running queries", "Relieve the database"],
    "cache": ["Check cache memory and hit rate", "Find and release stuck locks"],
    "queue": ["Check the queue depth", "Retry or purge failed jobs"],
    "disk": ["Find what fills the disk", "Free disk space"],
    "tls": ["Check the certificate's expiry", "Renew the certificate"],
}

PHASES = [("Immediate actions", "15m"), ("Investigation", "1h"), ("Mitigation", "4h"), ("Recovery", "1d")]


def runbook(service: Service, index: int, by_id: dict[str, Service], rng: random.Random) -> Data:
    """One runbook of ``service`` (its ``index``-th)."""
    ident, scenario = service.runbooks[index]
    svc, db = service.ident, service.ident.replace("-", "_")
    siblings = [rid for rid, _ in service.runbooks if rid != ident]
    elsewhere = [rid for dep in service.dependencies for rid, _ in by_id[dep].runbooks[:3]]
    related = sorted(set(rng.sample(siblings, k=min(len(siblings), 2)) + elsewhere[:1]))
    phases: list[Data] = []
    for number, (title, timebox) in enumerate(PHASES[: rng.choice((3, 4))]):
        families = {0: ["inspect", "metrics"], 1: ["inspect", *scenario.needs]}.get(number, list(scenario.needs))
        steps: list[Data] = []
        for s in range(rng.randint(2, 4)):
            family = families[s % len(families)]
            step: Data = {"id": f"{family}-{s + 1}", "title": rng.choice(STEP_TITLES[family])}
            if rng.random() < 0.3:
                step["when"] = rng.choice(
                    ["If the error rate is still rising", "If a release went out in the last hour"]
                )
            step["text"] = f"Compare with the **{scenario.title.lower()}** dashboard before going on."
            step["commands"] = _commands(family, svc, db, rng)
            if s == 0:
                step["checklist"] = ["Dashboard checked", "Finding posted in the incident channel"]
            if s == 1 and related:
                step["runbook"] = related[0]
            if rng.random() < 0.2:
                step["links"] = [{"title": "Dashboard", "url": f"https://grafana.example.com/d/{svc}"}]
            steps.append(step)
        phases.append({"title": title, "timebox": timebox, "steps": steps})
    used = sorted(
        {
            name
            for phase in phases
            for step in phase["steps"]
            for command in step["commands"]
            for name in _placeholders(command["code"])
        }
    )
    escalation: Data
    roll = rng.random()
    if roll < 0.6:
        escalation = {"policy": f"{svc}-escalation"}
    elif roll < 0.8:
        escalation = {"policy": "site-escalation", "notes": ["Post in the incident channel before paging."]}
    else:
        escalation = {
            "levels": [
                {"level": 1, "to": [f"{svc}-on-call"], "method": "page", "via": "pagerduty"},
                {
                    "level": 2,
                    "after": "30m",
                    "to": [service.team, "secondary-on-call"],
                    "method": "chat",
                    "via": "slack",
                },
                {"level": 3, "after": "2h", "to": ["incident-commander"], "method": "phone", "when": "SEV1 only"},
            ]
        }
    data: Data = {
        "id": ident,
        "title": f"{service.name}: {scenario.title}",
        "kind": scenario.kind,
        "service": svc,
        "owner": service.team,
        "severity": scenario.severity,
        "alerts": [{"name": f"{svc}: {scenario.slug}", "condition": scenario.condition}],
        "summary": f"{scenario.title} on {service.name}: {scenario.condition}. Confirm the impact, "
        "mitigate, then find the cause.",
        "impact": list(scenario.impact),
        "symptoms": list(scenario.symptoms),
        "phases": phases,
        "flow": {
            "title": "Triage",
            "nodes": [
                {"id": "alert", "label": "Alert fires", "type": "start", "next": "real"},
                {
                    "id": "real",
                    "label": "Real user impact?",
                    "type": "decision",
                    "branches": [{"label": "No", "to": "ack"}, {"label": "Yes", "to": "mitigate"}],
                },
                {"id": "ack", "label": "Acknowledge and note why", "type": "end"},
                {"id": "mitigate", "label": "Mitigate", "next": "fixed"},
                {
                    "id": "fixed",
                    "label": "Fixed within the time box?",
                    "type": "decision",
                    "branches": [{"label": "Yes", "to": "verify"}, {"label": "No", "to": "escalate"}],
                },
                {"id": "escalate", "label": "Escalate", "next": "mitigate"},
                {"id": "verify", "label": "Verify recovery", "type": "end"},
            ],
        },
        "escalation": escalation,
        "prevention": ["Add an alert on the leading indicator", "Review the capacity plan"],
        "include_checklists": [f"{svc}-triage"] + (["recovery-validation"] if rng.random() < 0.5 else []),
        "related": related,
        "references": [{"title": "Service dashboard", "url": f"https://grafana.example.com/d/{svc}"}],
        "tags": sorted({svc.split("-")[0], scenario.slug.split("-")[0], scenario.kind}),
        "variables": [{"name": name, "description": VARIABLE_DOCS[name]} for name in used],
        "last_reviewed": f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}",
        "history": [{"date": "2026-01-15", "version": "1.0", "changes": "First version.", "author": "bench"}],
    }
    if not used:
        del data["variables"]
    if not related:
        del data["related"]
    return data


class _Dumper(yaml.CSafeDumper):
    """Block scalars for multi-line text, as people write commands."""


def _str(dumper: _Dumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(data: Data) -> str:
    """YAML text as a person would write it (keys in schema order, commands as literal blocks)."""
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False)
    return f"# Generated by runbinder.bench.generate for benchmarks.\n{body}"


def generate(count: int, directory: Path, seed: int = 0) -> list[Path]:
    """Write ``count`` runbooks and their catalogs into ``directory``; returns the runbook paths."""
    services = plan(count, seed)
    by_id = {s.ident: s for s in services}
    rng = random.Random(seed + 1)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "catalog.yaml").write_text(dump(catalog(services)), encoding="utf-8")
    paths = []
    for service in services:
        folder = directory / service.ident
        folder.mkdir(exist_ok=True)
        (folder / "service.catalog.yaml").write_text(dump(service_catalog(service)), encoding="utf-8")
        for index, (ident, _) in enumerate(service.runbooks):
            path = folder / f"{ident}.yaml"
            path.write_text(dump(runbook(service, index, by_id, rng)), encoding="utf-8")
            paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m runbinder.bench.generate N DIR [--seed S]``."""
    parser = argparse.ArgumentParser(
        prog="python -m runbinder.bench.generate",
        description="Write N valid, realistic synthetic runbooks (and their catalogs) into DIR, for benchmarks.",
    )
    parser.add_argument("count", type=int, metavar="N", help="number of runbooks")
    parser.add_argument("directory", type=Path, metavar="DIR", help="where to write them (created if missing)")
    parser.add_argument("--seed", type=int, default=0, help="the same N and seed give the same files (default: 0)")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("N must be at least 1")
    paths = generate(args.count, args.directory, args.seed)
    print(f"wrote {len(paths)} runbooks over {len({p.parent for p in paths})} services to {args.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
