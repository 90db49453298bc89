#!/usr/bin/env bash
# Installs what the tests need on Debian (as root): the three C libraries the build links, and Slurm with munge
# for the Slurm test (deploy/slurm/test.sh). Does nothing when they are already installed.
set -euo pipefail
packages=(libopenblas-dev libjpeg62-turbo-dev libzstd-dev slurm-wlm munge)
dpkg -s "${packages[@]}" >/dev/null 2>&1 && exit 0
[ "$(id -u)" = 0 ] || { echo "error: installing ${packages[*]} needs root (or install them first)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${packages[@]}" >/dev/null
