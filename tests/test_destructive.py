"""command.destructive: the verb table per tool, on synthetic commands written for each tool and verb.

Each case is (command, what the finding shows or None for a read-only command). The shell is parsed, so flags may
stand anywhere, wrappers and pipelines are followed, and a command run elsewhere (a pod, a host, a shell string,
SQL handed to psql) is judged too.
"""

from __future__ import annotations

import pytest

from runbinder.checks.commands import STANDARD_EXECUTABLES, state_change

CHANGES = [
    # kubectl and oc: flags before and after the verb, admin subcommands, rollout, dry runs
    ("kubectl delete pod web-1", "kubectl delete"),
    ("kubectl -n payments delete pod web-1", "kubectl delete"),
    ("oc --context prod -n payments delete pvc data-0", "oc delete"),
    ("oc adm drain node-1 --ignore-daemonsets", "oc adm drain"),
    ("oc adm cordon node-1", "oc adm cordon"),
    ("oc adm uncordon node-1", "oc adm uncordon"),
    ("oc adm taint nodes node-1 key=value:NoSchedule", "oc adm taint"),
    ("oc adm policy add-cluster-role-to-user view -z sa", "oc adm policy add-cluster-role-to-user"),
    ("oc adm upgrade --to-latest", "oc adm upgrade"),
    ("kubectl patch deploy web -p '{\"spec\":{}}'", "kubectl patch"),
    ("kubectl scale deploy web --replicas=0", "kubectl scale"),
    ("kubectl edit cm settings", "kubectl edit"),
    ("kubectl annotate pod web-1 a=b", "kubectl annotate"),
    ("kubectl label node n1 role=infra", "kubectl label"),
    ("kubectl replace -f pod.yaml", "kubectl replace"),
    ("kubectl apply -f pod.yaml", "kubectl apply"),
    ("kubectl create -f pod.yaml", "kubectl create"),
    ("kubectl rollout undo deploy/web", "kubectl rollout undo"),
    ("kubectl rollout restart deploy/web", "kubectl rollout restart"),
    ("kubectl cp ./fix.sh web-1:/tmp/fix.sh", "kubectl cp ./fix.sh web-1:/tmp/fix.sh"),
    ("oc import-image app --confirm", "oc import-image"),
    # virtctl
    ("virtctl stop vm-1 -n vms", "virtctl stop"),
    ("virtctl restart vm-1", "virtctl restart"),
    ("virtctl migrate vm-1", "virtctl migrate"),
    # ceph, rbd, rados
    ("ceph osd out osd.3", "ceph osd out"),
    ("ceph osd rm osd.3", "ceph osd rm"),
    ("ceph osd purge 3 --yes-i-really-mean-it", "ceph osd purge"),
    ("ceph osd set noout", "ceph osd set"),
    ("ceph osd unset noout", "ceph osd unset"),
    ("ceph osd pool set-quota rbd max_bytes 0", "ceph osd pool set-quota"),
    ("ceph tell osd.* injectargs --osd-max-backfills=2", "ceph tell osd.* injectargs"),
    ("rbd snap rm pool/image@snap", "rbd snap rm"),
    ("rados -p pool rm object", "rados rm"),
    # etcdctl
    ("etcdctl member remove 8e9e05c52164694d", "etcdctl member remove"),
    ("etcdctl defrag --cluster", "etcdctl defrag"),
    ("etcdctl del /registry/pods/x", "etcdctl del"),
    ("etcdctl put key value", "etcdctl put"),
    ("etcdctl compact 1234", "etcdctl compact"),
    ("etcdctl --endpoints=https://a:2379 alarm disarm", "etcdctl alarm disarm"),
    # systemd, hosts
    ("systemctl restart kubelet", "systemctl restart"),
    ("systemctl stop chronyd", "systemctl stop"),
    ("systemctl start chronyd", "systemctl start"),
    ("systemctl daemon-reload", "systemctl daemon-reload"),
    ("service nginx reload", "service nginx reload"),
    ("reboot", "reboot"),
    ("shutdown -r now", "shutdown"),
    # containers
    ("docker restart web", "docker restart"),
    ("docker rm -f web", "docker rm"),
    ("docker compose down", "docker compose down"),
    ("podman rmi image", "podman rmi"),
    ("crictl rmi image", "crictl rmi"),
    ("docker system prune -af", "docker system prune"),
    # helm
    ("helm upgrade web chart/ -n apps", "helm upgrade"),
    ("helm rollback web 3", "helm rollback"),
    ("helm uninstall web", "helm uninstall"),
    # SQL through a client, redis
    ('psql -U app -c "DELETE FROM sessions"', "DELETE FROM"),
    ("psql --command='UPDATE users SET locked = true'", "UPDATE users SET"),
    ('mysql -e "DROP TABLE tmp"', "DROP TABLE"),
    ("redis-cli FLUSHALL", "redis-cli FLUSHALL"),
    ("redis-cli -h cache -n 2 del session:1", "redis-cli del"),
    ("redis-cli CONFIG SET maxmemory 2gb", "redis-cli CONFIG SET"),
    # cloud CLIs
    ("aws ec2 terminate-instances --instance-ids i-1", "aws ec2 terminate-instances"),
    ("aws --region eu-west-1 rds reboot-db-instance --db-instance-identifier db", "aws rds reboot-db-instance"),
    ("aws s3 rm s3://bucket/key --recursive", "aws s3 rm"),
    ("aws s3 cp backup.sql s3://bucket/", "aws s3 cp backup.sql s3://bucket/"),
    ("gcloud compute instances stop vm-1 --zone z", "gcloud compute instances stop"),
    ("gcloud sql instances restart db", "gcloud sql instances restart"),
    ("az vm deallocate -g rg -n vm-1", "az vm deallocate"),
    ("az group delete -n rg", "az group delete"),
    # files, processes, firewalls
    ("rm -rf /var/lib/app/cache", "rm"),
    ("kill -9 1234", "kill"),
    ("sed -i 's/a/b/' /etc/app.conf", "sed -i"),
    ("find /var/log -name '*.gz' -delete", "find -delete"),
    ("echo 1 > /proc/sys/vm/drop_caches", "> /proc/sys/vm/drop_caches"),
    ("echo 'nameserver 1.1.1.1' | sudo tee /etc/resolv.conf", "tee /etc/resolv.conf"),
    ("iptables -A INPUT -s 10.0.0.1 -j DROP", "iptables -A"),
    ("nginx -s reload", "nginx -s reload"),
    ("curl -X DELETE https://api.example.com/v1/items/1", "curl -X DELETE"),
    ("herd php artisan queue:flush", "php artisan queue:flush"),
]

READ_ONLY = [
    "kubectl get pods -o yaml",
    "oc -n payments get pods -o wide",
    "kubectl describe pod web-1",
    "oc logs -f deploy/web -c app --tail=100",
    "kubectl top pods --sort-by=cpu",
    "oc adm top nodes",
    "oc adm upgrade",
    "oc adm must-gather",
    "kubectl rollout status deploy/web",
    "kubectl create secret generic s --from-literal=a=b --dry-run=client -o yaml",
    "kubectl apply -f pod.yaml --dry-run=server",
    "kubectl cp web-1:/tmp/dump.txt ./dump.txt",
    "oc create token prometheus-k8s -n monitoring",
    "oc debug node/node-1",
    "oc exec web-1 -- df -h",
    "virtctl console vm-1",
    "ceph osd tree",
    "ceph -s",
    "ceph status",
    "ceph daemon osd.1 dump_historic_ops",
    "rbd mirror image status pool/image",
    "etcdctl endpoint status -w table",
    "etcdctl member list",
    "etcdctl get / --prefix --keys-only",
    "systemctl status kubelet",
    "journalctl -u kubelet -f",
    "docker ps",
    "docker logs web --since 1h",
    "podman pull registry/image",
    "helm list -A",
    "helm upgrade web chart/ --dry-run",
    'psql -c "SELECT count(*) FROM pg_stat_activity"',
    "redis-cli info memory",
    "redis-cli --scan --pattern 'session:*'",
    "aws s3 ls s3://bucket",
    "aws ec2 describe-instances",
    "gcloud compute instances list",
    "az vm show -g rg -n vm",
    "sed -n '1,10p' /etc/app.conf",
    "find /var/log -name '*.gz'",
    "oc get mco -o yaml > mco-backup.yaml",
    "curl -X POST https://api.example.com/v1/search",
    "mount",
    "kill -l",
    "# systemctl restart kubelet",
    "echo 'oc delete pod x'",
]


@pytest.mark.parametrize(("command", "shown"), CHANGES)
def test_state_changing_commands_are_found(command: str, shown: str) -> None:
    found = state_change(command, "bash")
    assert found is not None, command
    assert found.shown == shown


@pytest.mark.parametrize("command", READ_ONLY)
def test_read_only_commands_are_never_flagged(command: str) -> None:
    assert state_change(command, "bash") is None


@pytest.mark.parametrize(
    ("command", "shown", "at"),
    [
        # wrappers, lists and pipelines: the finding is at the program that changes state
        ("sudo -u root env KUBECONFIG=/k oc delete pod x", "oc delete", 31),
        ("oc get pods -o name | xargs -r -n1 oc delete", "oc delete", 35),
        ("oc get node n1 && oc adm drain n1", "oc adm drain", 18),
        ("for p in $(oc get pods -o name); do oc delete $p; done", "oc delete", 36),
        ("echo $(kubectl scale deploy/web --replicas=0)", "kubectl scale", 7),
        ("[[ -n $X ]] && kubectl delete pod x", "kubectl delete", 15),
        ("timeout 30 nice -n 10 systemctl restart app", "systemctl restart", 22),
        # commands run elsewhere
        ("oc exec -n x web-1 -- rm -rf /data/cache", "rm", 22),
        ("kubectl exec -it web-1 -c app -- bash -c 'kill -HUP 1'", "kill", 42),
        ("oc rsh -n storage tools-1 ceph osd set noout", "ceph osd set", 26),
        ("docker exec db psql -U app -c 'TRUNCATE sessions'", "TRUNCATE", 31),
        ("ssh node-1 sudo systemctl reboot", "systemctl reboot", 11),
        ("find /tmp -name '*.lock' -exec rm {} +", "rm", 31),
        ("cat <<EOF | oc apply -f -\nkind: ConfigMap\nEOF", "oc apply", 12),
        # placeholders are words, not redirections
        ("oc delete pod <pod name> -n <namespace>", "oc delete", 0),
    ],
)
def test_shell_structure_is_followed(command: str, shown: str, at: int) -> None:
    found = state_change(command, "bash")
    assert found is not None
    assert (found.shown, found.offset) == (shown, at)


def test_sql_is_judged_by_statement() -> None:
    assert state_change("SELECT pg_terminate_backend(123);", "sql") is not None
    assert state_change("SELECT * FROM users WHERE deleted = false;", "sql") is None
    assert state_change("kubectl delete pod x", "yaml") is None  # only shell and SQL run


def test_common_programs_and_builtins_need_no_inventory_entry() -> None:
    for name in ("base64", "systemctl", "journalctl", "ssh", "break", "local", "shift", "read", "set", "trap", "wait"):
        assert name in STANDARD_EXECUTABLES
    for name in ("kubectl", "oc", "curl", "psql", "jq", "aws"):
        assert name not in STANDARD_EXECUTABLES
