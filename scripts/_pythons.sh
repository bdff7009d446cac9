# Sourced by scripts/*: puts every installed Python 3.10-3.13 on PATH as python3.X
# (pyenv keeps them out of PATH unless selected) and picks one to bootstrap with.
# Sets PYTHONS_FOUND and PYTHONS_MISSING ("3.10 3.12", ...). It never installs or downloads one.
usable() { command -v "python$1" >/dev/null 2>&1 && "python$1" -c '' >/dev/null 2>&1; }
PYTHONS_FOUND=""
PYTHONS_MISSING=""
for v in 3.10 3.11 3.12 3.13; do
    if ! usable "$v"; then
        for d in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin; do
            [ -x "$d/python$v" ] && PATH="$d:$PATH"
        done
    fi
    if usable "$v"; then
        PYTHONS_FOUND="${PYTHONS_FOUND:+$PYTHONS_FOUND }$v"
    else
        PYTHONS_MISSING="${PYTHONS_MISSING:+$PYTHONS_MISSING }$v"
    fi
done
export PATH
BOOTSTRAP_PYTHON=""
for v in 3.13 3.12 3.11 3.10; do
    if usable "$v"; then
        BOOTSTRAP_PYTHON="python$v"
        break
    fi
done
if [ -z "$BOOTSTRAP_PYTHON" ]; then
    echo "error: no Python 3.10-3.13 found; install one (e.g. pyenv install 3.13)" >&2
    exit 2
fi
