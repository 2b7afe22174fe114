"""`make run`: migrate, load demo data on first start, then run the web site, the job worker and the
SMTP sink together until Ctrl-C."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from marketplace.config import instance_path


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def main() -> int:
    instance = instance_path()
    os.environ.setdefault("MARKETPLACE_INSTANCE_PATH", str(instance))
    os.environ.setdefault("MARKETPLACE_DEV_MAIL_SINK", "1")
    mail_port = int(os.environ.setdefault("MARKETPLACE_MAIL_PORT", "8025"))
    os.environ.setdefault("MARKETPLACE_MAIL_SERVER", "127.0.0.1")
    bin_dir = Path(sys.executable).parent
    flask = [str(bin_dir / "flask"), "--app", "wsgi"]

    print(f"Instance : {instance} (base de données, index, fichiers envoyés, courriels)")
    subprocess.run(flask + ["db", "upgrade"], check=True)
    subprocess.run(flask + ["demo", "load"], check=True)

    from marketplace import devmail

    sink = None
    if os.environ["MARKETPLACE_MAIL_SERVER"] == "127.0.0.1" and _port_free(mail_port):
        sink = devmail.start(instance / "mail", port=mail_port)
        print(f"Courriels : serveur SMTP local sur le port {mail_port}, lisibles sur "
              f"http://127.0.0.1:{os.environ.get('PORT', '5000')}/dev/mail "
              f"et dans {instance / 'mail'}")
    worker = subprocess.Popen([str(bin_dir / "huey_consumer"), "marketplace.worker.huey", "-w", "2", "-k", "thread"])
    port = os.environ.get("PORT", "5000")
    web = subprocess.Popen(flask + ["run", "--host", "127.0.0.1", "--port", port, "--debug", "--no-reload"])
    print(f"Site : http://127.0.0.1:{port}  (Ctrl-C pour arrêter)")

    def stop(*_):
        for proc in (web, worker):
            if proc.poll() is None:
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        while web.poll() is None and worker.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for proc in (web, worker):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if sink:
            sink.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
