#!/usr/bin/env bash
# zipster-database-tls: the database host's certificates, for TLS to MariaDB.
#
# Runs at every boot of the database host, as root, from the user data, after the
# data volume is mounted and before MariaDB starts:
#
#     zipster-database-tls DIR OWNER NAME...     e.g. /var/lib/mysql mysql ip-10-40-0-12.ec2.internal 10.40.0.12
#
# 1. makes a CA once (DIR/zipster-ca.pem and its key) and keeps it: DIR is on the
#    data volume, so a replaced host keeps the CA the functions already trust;
# 2. issues a server certificate (DIR/zipster-server-cert.pem and its key) signed by
#    that CA for the NAMEs (DNS names or IPv4 addresses; the first is its subject),
#    again whenever the names change (a replaced host has a new private DNS name),
#    the certificate does not verify against the CA, or it ends within 30 days;
# 3. leaves the keys readable by OWNER (MariaDB's user) only.
#
# The files sit in DIR itself, beside MariaDB's data, as MySQL's own generated
# certificates do: MariaDB takes only directories of DIR for databases.
#
# Prints the CA certificate's path. Exit codes: 0 done; 2 usage; 3 half a CA (a key
# without its certificate or the reverse: never replaced, since the functions trust
# the old one); other non-zero: a command failed.

set -euo pipefail

fail() {
    local code=$1
    shift
    echo "zipster-database-tls: $*" >&2
    exit "$code"
}

if [[ $# -lt 3 ]]; then
    fail 2 "usage: zipster-database-tls DIR OWNER NAME... (e.g. /var/lib/mysql mysql ip-10-40-0-12.ec2.internal 10.40.0.12)"
fi
readonly dir=$1 owner=$2
shift 2

san=""
for name in "$@"; do
    if [[ $name =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]]; then
        san+="${san:+,}IP:$name"
    elif [[ $name =~ ^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$ ]]; then
        san+="${san:+,}DNS:$name"
    else
        fail 2 "not a DNS name or an IPv4 address: $name"
    fi
done
readonly san subject=$1

readonly ca=$dir/zipster-ca.pem ca_key=$dir/zipster-ca-key.pem
readonly cert=$dir/zipster-server-cert.pem key=$dir/zipster-server-key.pem names=$dir/zipster-server-names
umask 077
[[ -d $dir ]] || fail 2 "$dir is not a directory"

if [[ ! -e $ca && ! -e $ca_key ]]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -sha256 \
        -subj "/CN=zipster database CA" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$ca_key.new" -out "$ca.new" 2>/dev/null
    mv "$ca_key.new" "$ca_key"
    mv "$ca.new" "$ca"
    echo "zipster-database-tls: made a new CA in $ca" >&2
elif [[ ! -s $ca || ! -s $ca_key ]]; then
    fail 3 "$ca and $ca_key must both exist (the functions trust this CA): restore the missing one from a snapshot, or remove both to make a new CA and redeploy the functions' secrets"
fi

fresh=false
if [[ -s $cert && -s $key && -s $names ]] && [[ $(<"$names") == "$san" ]] &&
    openssl verify -CAfile "$ca" "$cert" >/dev/null 2>&1 &&
    openssl x509 -in "$cert" -noout -checkend $((30 * 24 * 3600)) >/dev/null; then
    fresh=true
fi

if [[ $fresh == false ]]; then
    serial=$(openssl rand -hex 16)
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
        -subj "/CN=$subject" -keyout "$key.new" -out "$dir/zipster-server.csr" 2>/dev/null
    openssl x509 -req -in "$dir/zipster-server.csr" -CA "$ca" -CAkey "$ca_key" -sha256 -days 825 \
        -set_serial "0x$serial" \
        -extfile <(printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' "$san") \
        -out "$cert.new" 2>/dev/null
    rm -f "$dir/zipster-server.csr"
    mv "$key.new" "$key"
    mv "$cert.new" "$cert"
    printf '%s\n' "$san" >"$names"
    echo "zipster-database-tls: issued a server certificate for $san" >&2
fi

chown "$owner" "$ca_key" "$key" "$cert" "$ca"
chmod 0600 "$ca_key" "$key"
chmod 0644 "$cert" "$ca"
echo "$ca"
