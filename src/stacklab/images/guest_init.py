"""What the test image runs: /init (PID 1), the DHCP hook, and the few files in /etc.

/init prints the console markers of `console_markers`, in this order: booted, disk,
address, metadata, hostname, HTTP, SSH; and the list of disks whenever it changes. It never
exits: when PID 1 exits the kernel panics.
"""

from __future__ import annotations

import hashlib

from stacklab.images import console_markers as marker

# Load order that works (FIELD-NOTES): each needs symbols of those before it.
VIRTIO_MODULES = (
    "virtio_ring",
    "virtio",
    "virtio_pci_modern_dev",
    "virtio_pci_legacy_dev",
    "virtio_pci",
    "failover",
    "net_failover",
    "virtio_net",
    "virtio_blk",
)
MODULES_DIRECTORY = "lib/modules"
DHCP_SCRIPT_PATH = "etc/udhcpc.script"
DROPBEAR_PATH = "usr/sbin/dropbear"
METADATA_ADDRESS = "169.254.169.254"
HTTP_PORT = 80
INSTANCE_ID_PATH = "/latest/meta-data/instance-id"
HOSTNAME_PATH = "/latest/meta-data/hostname"  # Nova: the server's hostname + its dhcp_domain
PUBLIC_KEY_PATH = "/latest/meta-data/public-keys/0/openssh-key"

INIT_TEMPLATE = r"""#!/bin/sh
# stacklab test image: DHCP, metadata, markers on the console, SSH with the injected key.
export PATH=/bin:/usr/bin:/usr/sbin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /run /tmp /var/log /root
mount -t devpts devpts /dev/pts
chmod 700 /root
hostname -F /etc/hostname
echo @BOOTED@

for module in @MODULES@; do
    insmod "/@MODULES_DIRECTORY@/$module.ko" || echo "stacklab: insmod $module failed"
done
if [ -e /sys/block/vda/size ]; then
    echo "@DISK@ vda $(( $(cat /sys/block/vda/size) * 512 ))"
fi

# Every change of the virtio disks (a volume attached or detached while the guest runs),
# as one line: "@DISKS@ vda:<bytes> vdb:<bytes>" (or nothing after the marker).
watch_disks() {
    seen=unset
    while :; do
        disks=
        for disk in /sys/block/vd*; do
            [ -e "$disk/size" ] && disks="$disks ${disk##*/}:$(( $(cat "$disk/size") * 512 ))"
        done
        [ "$disks" != "$seen" ] && echo "@DISKS@$disks" && seen=$disks
        sleep 2
    done
}
watch_disks &

# Answers: 0 with the body in $2, 1 for a definite no (4xx), 2 for worth trying again.
# busybox wget crashed in guests under Nova; a hand-written GET over nc works.
metadata_get() {
    printf 'GET %s HTTP/1.0\r\nHost: @METADATA@\r\n\r\n' "$1" \
        | timeout 10 nc @METADATA@ 80 | tr -d '\r' > /tmp/metadata.http
    status=$(head -n 1 /tmp/metadata.http)
    case "$status" in
        HTTP/1.?" 200"*) sed '1,/^$/d' /tmp/metadata.http > "$2"; return 0 ;;
        "") failure="no answer from @METADATA@:80 for $1"; return 2 ;;
        HTTP/1.?" 4"*) failure="$1: $status"; return 1 ;;
        *) failure="$1: $status"; return 2 ;;
    esac
}

metadata_fetch() {
    attempt=1
    while :; do
        metadata_get "$1" "$2"
        answer=$?
        [ "$answer" -eq 2 ] && [ "$attempt" -lt 10 ] || return "$answer"
        attempt=$((attempt + 1))
        sleep 3
    done
}

# As cloud-init does: the first label of the metadata's hostname (Nova's is the server's
# name, made a valid hostname, with its dhcp_domain such as ".novalocal" after it).
set_hostname() {
    failure=
    if metadata_fetch @HOSTNAME_PATH@ /tmp/hostname && [ -s /tmp/hostname ]; then
        name=$(head -n 1 /tmp/hostname | cut -d . -f 1)
        if [ -n "$name" ] && hostname "$name"; then
            echo "$name" > /etc/hostname
            echo "@HOSTNAME@ $name"
        else
            echo "@HOSTNAME_FAILED@ cannot set the hostname '$(head -n 1 /tmp/hostname)'"
        fi
    else
        echo "@HOSTNAME_FAILED@ ${failure:-empty hostname}"
    fi
}

# A load balancer's member: busybox httpd answers every GET / with the guest's hostname, so
# a client sees which member served it.
serve_hostname() {
    mkdir -p /www
    hostname > /www/index.html
    if httpd -p @HTTP_PORT@ -h /www; then
        echo "@HTTP_READY@ @HTTP_PORT@"
    else
        echo "@HTTP_UNAVAILABLE@ busybox httpd did not start"
    fi
}

start_ssh() {
    if [ ! -x /@DROPBEAR@ ]; then
        echo "@SSH_UNAVAILABLE@ this image has no SSH server"
    elif ! metadata_fetch @PUBLIC_KEY_PATH@ /tmp/public-key; then
        echo "@SSH_UNAVAILABLE@ no public key: $failure"
    else
        mkdir -p /root/.ssh /etc/dropbear
        chmod 700 /root/.ssh
        cp /tmp/public-key /root/.ssh/authorized_keys
        chmod 600 /root/.ssh/authorized_keys
        # -R makes the host key on first use: every instance gets its own.
        if /@DROPBEAR@ -R -s -p 22 -P /run/dropbear.pid; then
            echo @SSH_READY@
        else
            echo "@SSH_UNAVAILABLE@ dropbear did not start"
        fi
    fi
}

ip link set lo up
ip link set eth0 up
if udhcpc -i eth0 -s /@DHCP_SCRIPT@ -O mtu -O staticroutes -t 20 -T 3 -n -p /run/udhcpc.pid
then
    echo "@ADDRESS@ $(cat /run/dhcp-address)"
    if metadata_fetch @INSTANCE_ID_PATH@ /tmp/instance-id && [ -s /tmp/instance-id ]; then
        echo "@METADATA_OK@ $(head -n 1 /tmp/instance-id)"
    else
        echo "@METADATA_FAILED@ ${failure:-empty instance id}"
    fi
    set_hostname
    serve_hostname
    start_ssh
else
    echo @DHCP_FAILED@
    echo "@METADATA_FAILED@ no address"
    echo "@SSH_UNAVAILABLE@ no address"
fi

while :; do
    setsid cttyhack sh
    sleep 1
done
"""

# udhcpc calls this with the event as $1 and the lease in the environment ($ip, $mask
# as a prefix length, $router, $mtu from option 26, $staticroutes from option 121).
DHCP_SCRIPT = r"""#!/bin/sh
add_static_routes() {
    while [ $# -ge 2 ]; do
        if [ "$2" = 0.0.0.0 ]; then
            ip route replace "$1" dev "$interface"
        else
            ip route replace "$1" via "$2" dev "$interface"
        fi
        shift 2
    done
}

case "$1" in
    deconfig)
        ip -4 addr flush dev "$interface"
        ip link set dev "$interface" up
        ;;
    bound|renew)
        [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
        if ! ip -4 addr show dev "$interface" | grep -q "inet $ip/$mask "; then
            ip -4 addr flush dev "$interface"
            ip addr add "$ip/$mask" dev "$interface"
        fi
        # RFC 3442: with classless routes the router option is to be ignored; a default
        # route is still added if they brought none.
        [ -n "$staticroutes" ] && add_static_routes $staticroutes
        # busybox's `ip route show` ignores a "default" filter: grep for it instead.
        if ! ip route | grep -q '^default '; then
            for gateway in $router; do
                ip route replace default via "$gateway" dev "$interface" && break
            done
        fi
        [ -n "$dns" ] && for server in $dns; do echo "nameserver $server"; done \
            > /etc/resolv.conf
        echo "$ip" > /run/dhcp-address
        ;;
esac
exit 0
"""

# Tempest counts a guest's disks with `lsblk -lb --nodeps`, reading the TYPE column where
# its header has it; busybox has no lsblk. Same widths in header and rows keep it aligned.
LSBLK_PATH = "bin/lsblk"
LSBLK_SCRIPT = r"""#!/bin/sh
row() { printf '%-6s %7s %2s %14s %2s %-4s\n' "$@"; }
row NAME MAJ:MIN RM SIZE RO TYPE
for device in /sys/block/vd* /sys/block/sr*; do
    [ -e "$device/dev" ] || continue
    case "${device##*/}" in sr*) type=rom ;; *) type=disk ;; esac
    row "${device##*/}" "$(cat "$device/dev")" "$(cat "$device/removable")" \
        "$(( $(cat "$device/size") * 512 ))" "$(cat "$device/ro")" "$type"
done
"""

ETC_FILES = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
    "etc/group": "root:x:0:\n",
    "etc/shells": "/bin/sh\n",
    "etc/nsswitch.conf": "passwd: files\ngroup: files\nshadow: files\n",
    "etc/hostname": "stacklab-test\n",
}


def render_init(modules: tuple[str, ...]) -> str:
    """/init for an image whose initramfs holds these modules (names, in load order)."""
    values = {
        "MODULES": " ".join(modules),
        "MODULES_DIRECTORY": MODULES_DIRECTORY,
        "DHCP_SCRIPT": DHCP_SCRIPT_PATH,
        "DROPBEAR": DROPBEAR_PATH,
        "METADATA": METADATA_ADDRESS,
        "INSTANCE_ID_PATH": INSTANCE_ID_PATH,
        "PUBLIC_KEY_PATH": PUBLIC_KEY_PATH,
        "HOSTNAME_PATH": HOSTNAME_PATH,
        "HOSTNAME": marker.HOSTNAME,
        "HOSTNAME_FAILED": marker.HOSTNAME_FAILED,
        "BOOTED": marker.BOOTED,
        "DISK": marker.DISK,
        "DISKS": marker.DISKS,
        "ADDRESS": marker.ADDRESS,
        "DHCP_FAILED": marker.DHCP_FAILED,
        "METADATA_OK": marker.METADATA_OK,
        "METADATA_FAILED": marker.METADATA_FAILED,
        "SSH_READY": marker.SSH_READY,
        "HTTP_PORT": str(HTTP_PORT),
        "HTTP_READY": marker.HTTP_READY,
        "HTTP_UNAVAILABLE": marker.HTTP_UNAVAILABLE,
        "SSH_UNAVAILABLE": marker.SSH_UNAVAILABLE,
    }
    script = INIT_TEMPLATE
    for key, value in values.items():
        script = script.replace(f"@{key}@", value)
    return script


def templates_fingerprint() -> str:
    """Changes whenever anything the guest runs changes, so cached images are rebuilt."""
    parts = [
        INIT_TEMPLATE,
        DHCP_SCRIPT,
        LSBLK_SCRIPT,
        *sorted(f"{k}={v}" for k, v in ETC_FILES.items()),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()
