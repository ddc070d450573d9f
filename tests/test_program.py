"""Programs by their names: the rules README states, on the command lines people run."""

import pytest

from toptui.sampling.program import program_of


@pytest.mark.parametrize(
    ("name", "command", "program"),
    [
        ("python3", "python3 leaker.py", "python3 leaker.py"),
        ("python3", "/usr/bin/python3 -u /srv/app/leaker.py --size 10", "python3 leaker.py"),
        ("python3", "python3 -W ignore -X dev worker.py", "python3 worker.py"),
        ("python3", "python3 -m app --port 80", "python3 -m app"),
        ("python3", "python3 -m http.server", "python3 -m http.server"),
        ("python3", "python3 -c import time; time.sleep(9)", "python3 -c"),
        ("python3.11", "/opt/py/bin/python3.11 manage.py runserver", "python3.11 manage.py"),
        ("python3", "python3", "python3"),
        ("node", "node server.js", "node server.js"),
        ("node", "node --max-old-space-size=4096 -r dotenv/config dist/index.js", "node index.js"),
        ("node", "node -e console.log(1)", "node -e"),
        ("MainThread", "node /app/server.js", "MainThread"),  # named itself: kept
        ("nl?name", "python -c import os", "nl?name"),
        ("java", "java -Xmx2g -jar /opt/app/app.jar --spring", "java app.jar"),
        ("java", "java -cp lib/* -Dx=y Main arg", "java Main"),
        ("ruby", "ruby -Ilib bin/rails server", "ruby rails"),
        ("perl", "perl -w script.pl", "perl script.pl"),
        ("perl", "perl -e print 1", "perl -e"),
        ("php", "php -d memory_limit=1G artisan queue:work", "php artisan"),
        ("php8.2", "php8.2 index.php", "php8.2 index.php"),
        ("bash", "bash backup.sh --all", "bash backup.sh"),
        ("bash", "bash -c while true; do sleep 1; done", "bash -c"),
        ("bash", "-bash", "bash"),
        ("sh", "/bin/sh -e ./run.sh", "sh run.sh"),
        ("tmux: server", "tmux new-session -d", "tmux: server"),
        ("od", "od -cx /dev/urandom", "od"),
        ("kworker/0:1", "", "kworker/0:1"),
    ],
)
def test_program_names(name: str, command: str, program: str) -> None:
    assert program_of(name, command) == program
