# Sourced by tests/run.sh, tests/cli.sh and tests/packaging.sh: where their CPU time goes.
# cpu_now VAR DIR: VAR = the CPU milliseconds (user + system) of every child the calling shell has waited for
# so far (bash's `times` through a file in DIR: in $(...) it would describe a subshell without children)
cpu_now() {
    local f=$2/.times.$BASHPID u s
    times >"$f"
    { read -r _ _; read -r u s; } <"$f"
    rm -f "$f"
    printf -v "$1" '%d' "$(( $(cpu_ms_of "$u") + $(cpu_ms_of "$s") ))"
}
# `times`'s "1m2.345s" as milliseconds
cpu_ms_of() { local t=${1%s} sec; sec=${t#*m}; echo $(( ${t%%m*} * 60000 + 10#${sec%.*} * 1000 + 10#${sec#*.} )); }
