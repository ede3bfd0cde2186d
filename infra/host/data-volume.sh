#!/usr/bin/env bash
# zipster-data-volume: puts the database's data volume at MariaDB's data directory.
#
# Runs at every boot of the database host, as root, from the user data:
#
#     zipster-data-volume DEVICE MOUNTPOINT      e.g. /dev/nvme1n1 /var/lib/mysql
#
# 1. waits (bounded) for DEVICE to exist as a block device;
# 2. refuses a MOUNTPOINT that already holds files and is not a mount point (they
#    would be hidden under the volume: data written to the root volume by mistake);
# 3. formats DEVICE with XFS only if it holds nothing at all (no file system, no
#    partition table); keeps an XFS volume as it is; refuses anything else;
# 4. mounts it at MOUNTPOINT (nothing to do if it is mounted there already) and
#    records it in fstab by UUID, one line, replacing an older line for MOUNTPOINT;
# 5. on a volume it has just formatted, and only then, gives the directory to MariaDB.
#
# Run it after the MariaDB package is installed (so its user exists) and before the
# server starts (so nothing is written to the root volume first).
#
# Exit codes: 0 done; 2 usage; 3 DEVICE holds something other than XFS (never
# formatted); 4 MOUNTPOINT unsafe (holds files, or another device is mounted there,
# or DEVICE is mounted elsewhere);
# 5 DEVICE did not appear in time; other non-zero: a command failed.
#
# Environment (for tests): ZIPSTER_FSTAB (default /etc/fstab), ZIPSTER_DEVICE_WAIT
# (seconds, default 120).

set -euo pipefail

readonly OWNER=mysql

fail() {
    local code=$1
    shift
    echo "zipster-data-volume: $*" >&2
    exit "$code"
}

if [[ $# -ne 2 ]]; then
    fail 2 "usage: zipster-data-volume DEVICE MOUNTPOINT (e.g. /dev/nvme1n1 /var/lib/mysql)"
fi
device=$1
mountpoint=$2
fstab=${ZIPSTER_FSTAB:-/etc/fstab}
wait_seconds=${ZIPSTER_DEVICE_WAIT:-120}

case $mountpoint in
    /*) ;;
    *) fail 2 "MOUNTPOINT must be an absolute path, got '$mountpoint'" ;;
esac
if [[ $mountpoint =~ [[:space:]] ]]; then
    fail 2 "MOUNTPOINT must not contain white space (fstab), got '$mountpoint'"
fi
if [[ ! $wait_seconds =~ ^[0-9]+$ ]]; then
    fail 2 "ZIPSTER_DEVICE_WAIT must be a number of seconds, got '$wait_seconds'"
fi
# One spelling of the mount point, as findmnt and fstab show it.
if [[ $mountpoint != / ]]; then
    mountpoint=${mountpoint%/}
fi

# 1. The device: an EBS volume attached at boot can appear some seconds after start.
waited=0
until [[ -b $device ]]; do
    if ((waited >= wait_seconds)); then
        fail 5 "$device did not appear as a block device within ${wait_seconds}s"
    fi
    sleep 1
    waited=$((waited + 1))
done
if ((waited > 0)); then
    echo "waited ${waited}s for $device"
fi
real_device=$(readlink -f -- "$device")

# 2. The mount point: mounted already (from this device), or an empty directory.
mounted_source=""
if findmnt --mountpoint "$mountpoint" >/dev/null 2>&1; then
    mounted_source=$(findmnt -n -o SOURCE --mountpoint "$mountpoint" | tail -n 1)
    mounted_real=$(readlink -f -- "$mounted_source")
    if [[ $mounted_real != "$real_device" ]]; then
        fail 4 "$mountpoint is already a mount point of $mounted_source, not of $device; refusing"
    fi
else
    elsewhere=$(findmnt -n -o TARGET --source "$real_device" | head -n 1) || true
    if [[ -n $elsewhere ]]; then
        fail 4 "$device is already mounted at $elsewhere, not at $mountpoint; refusing"
    fi
    if [[ -e $mountpoint && ! -d $mountpoint ]]; then
        fail 4 "$mountpoint exists and is not a directory; refusing"
    fi
    if [[ -d $mountpoint ]]; then
        contents=$(ls -A -- "$mountpoint")
        if [[ -n $contents ]]; then
            fail 4 "$mountpoint holds files but is not a mount point: they are on the root volume" \
                "and the data volume would hide them; move them away first (nothing was changed)"
        fi
    fi
fi

# 3. What the device holds. blkid -p probes the device itself (no cache):
# exit 0 found something, 2 found nothing, anything else could not tell.
probe=0
found=$(blkid -p -o export -- "$device") || probe=$?
fs_type=""
pt_type=""
if ((probe == 0)); then
    fs_type=$(printf '%s\n' "$found" | sed -n 's/^TYPE=//p')
    pt_type=$(printf '%s\n' "$found" | sed -n 's/^PTTYPE=//p')
elif ((probe != 2)); then
    fail 3 "$device: blkid could not tell what it holds (exit $probe, e.g. several signatures); refusing to format"
fi

formatted=no
if [[ -n $pt_type ]]; then
    fail 3 "$device holds a partition table ($pt_type), expected XFS or nothing; refusing to format"
elif [[ -z $fs_type && $probe -eq 0 ]]; then
    fail 3 "$device holds something blkid names but not as a file system (${found//$'\n'/ }); refusing to format"
elif [[ -z $fs_type ]]; then
    if [[ -n $mounted_source ]]; then
        fail 3 "$device is mounted at $mountpoint but blkid finds no file system on it; refusing to format"
    fi
    echo "formatting $device with XFS (it holds no file system)"
    mkfs.xfs -q -- "$device"
    formatted=yes
elif [[ $fs_type == xfs ]]; then
    echo "kept the XFS file system on $device"
else
    fail 3 "$device holds a file system of type $fs_type, expected XFS or nothing; refusing to format"
fi

uuid=$(blkid -p -o value -s UUID -- "$device")
if [[ -z $uuid ]]; then
    fail 1 "$device has no UUID after probing; cannot write fstab"
fi

# 4. Mount, then fstab.
if [[ -n $mounted_source ]]; then
    echo "$device is already mounted at $mountpoint"
else
    mkdir -p -- "$mountpoint"
    mount -t xfs -- "$device" "$mountpoint"
    echo "mounted $device at $mountpoint"
fi

line="UUID=$uuid $mountpoint xfs defaults,nofail 0 2"
current=""
if [[ -f $fstab ]]; then
    current=$(cat -- "$fstab")
fi
# Every line but those (not comments) whose second field is the mount point.
others=$(printf '%s\n' "$current" | awk -v mp="$mountpoint" '
    $1 !~ /^#/ && NF >= 2 { p = $2; if (p != "/") sub(/\/+$/, "", p); if (p == mp) next }
    { print }')
wanted=$(printf '%s\n%s' "$others" "$line" | sed '/./,$!d')
if [[ $wanted == "$current" ]]; then
    echo "fstab already has: $line"
else
    fstab_dir=$(dirname -- "$fstab")
    tmp=$(mktemp -- "$fstab_dir/.fstab.zipster.XXXXXX")
    printf '%s\n' "$wanted" >"$tmp"
    chmod 0644 -- "$tmp"
    mv -f -- "$tmp" "$fstab"
    echo "fstab: $line"
fi

# 5. A new volume's root directory for MariaDB; an existing volume is left as it is.
if [[ $formatted == yes ]]; then
    if id -u "$OWNER" >/dev/null 2>&1; then
        chown "$OWNER:$OWNER" -- "$mountpoint"
        chmod 0755 -- "$mountpoint"
        echo "gave $mountpoint to $OWNER:$OWNER (new volume)"
    else
        echo "no user $OWNER: $mountpoint stays owned by root"
    fi
    if command -v restorecon >/dev/null 2>&1; then
        restorecon -- "$mountpoint" || true
    fi
fi
