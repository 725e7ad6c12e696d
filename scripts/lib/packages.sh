# Sourced by scripts/test and scripts/demo: installs Keel's Debian packages (below) when missing
# (as root; otherwise prints the exact command and stops) and checks that swift is on PATH.
keel_packages=(libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libsqlite3-dev pkg-config)
keel_extra_packages=("${keel_extra_packages[@]}")
keel_missing=()
# A script may ask for more (scripts/test: python3-yaml for scripts/check-docker).
for package in "${keel_packages[@]}" "${keel_extra_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || keel_missing+=("$package")
done
if [ ${#keel_missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "$(basename "$0"): installing ${keel_missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${keel_missing[@]}" >/dev/null
  else
    echo "$(basename "$0"): missing Debian packages: ${keel_missing[*]}" >&2
    echo "run: sudo apt-get update && sudo apt-get install -y ${keel_missing[*]}" >&2
    exit 1
  fi
fi
command -v swift >/dev/null || { echo "$(basename "$0"): swift is not on PATH (Swift 6.x toolchain required)" >&2; exit 1; }
