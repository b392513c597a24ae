#!/usr/bin/env python3
"""The example's app service: a small JSON API over HTTP (stdlib http.server).

  GET  /api/          counts the visit in redis and returns the count and who served it
  GET  /api/notes     the rows of the `notes` table in mariadb, newest first
  POST /api/notes     adds a row; the body is the note's text (plain text or {"text": ...})
  GET  /api/health    200 when redis and mariadb answer (the container's healthcheck)

Settings come from the environment (the compose file's env_file, webapp.env).
"""
import json
import os
import signal
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pymysql
import redis

DB = dict(
    host=os.environ.get("DB_HOST", "db"),
    port=int(os.environ.get("DB_PORT", "3306")),
    user=os.environ["MARIADB_USER"],
    password=os.environ["MARIADB_PASSWORD"],
    database=os.environ["MARIADB_DATABASE"],
    connect_timeout=5,
    autocommit=True,
    cursorclass=pymysql.cursors.DictCursor,
)
CACHE = redis.Redis(
    host=os.environ.get("REDIS_HOST", "cache"),
    port=int(os.environ.get("REDIS_PORT", "6379")),
    socket_timeout=5,
)
PORT = int(os.environ.get("APP_PORT", "8000"))
HOSTNAME = socket.gethostname()


def db():
    return pymysql.connect(**DB)


def init_schema():
    """Creates the table; retries for a while so the app also starts before the database is up."""
    deadline = time.time() + 60
    while True:
        try:
            with db() as conn, conn.cursor() as cur:
                cur.execute(
                    "CREATE TABLE IF NOT EXISTS notes ("
                    " id INT AUTO_INCREMENT PRIMARY KEY,"
                    " text VARCHAR(500) NOT NULL,"
                    " created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
                )
            return
        except pymysql.MySQLError as e:
            if time.time() > deadline:
                raise
            print(f"waiting for the database: {e}", flush=True)
            time.sleep(1)


class Handler(BaseHTTPRequestHandler):
    server_version = "webapp-app/1"

    def reply(self, code, body):
        data = (json.dumps(body, default=str) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def route(self):
        return self.path.split("?", 1)[0].rstrip("/") or "/"

    def do_GET(self):
        try:
            path = self.route()
            if path == "/api":
                visits = CACHE.incr("visits")
                with db() as conn, conn.cursor() as cur:
                    cur.execute("SELECT VERSION() AS v, COUNT(*) AS n FROM notes")
                    row = cur.fetchone()
                self.reply(200, {"visits": visits, "notes": row["n"], "served_by": HOSTNAME,
                                 "mariadb": row["v"], "redis": CACHE.info("server")["redis_version"]})
            elif path == "/api/notes":
                with db() as conn, conn.cursor() as cur:
                    cur.execute("SELECT id, text, created FROM notes ORDER BY id DESC LIMIT 100")
                    self.reply(200, {"notes": cur.fetchall()})
            elif path == "/api/health":
                CACHE.ping()
                with db() as conn, conn.cursor() as cur:
                    cur.execute("SELECT 1")
                self.reply(200, {"status": "ok"})
            else:
                self.reply(404, {"error": f"no route {path}"})
        except Exception as e:  # the client sees what failed; the log has it too
            print(f"GET {self.path}: {e!r}", file=sys.stderr, flush=True)
            self.reply(503, {"error": repr(e)})

    def do_POST(self):
        try:
            if self.route() != "/api/notes":
                return self.reply(404, {"error": f"no route {self.path}"})
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            text = raw
            if "json" in (self.headers.get("Content-Type") or ""):
                text = json.loads(raw or "{}").get("text", "")
            text = text.strip()
            if not text:
                return self.reply(400, {"error": "empty note"})
            with db() as conn, conn.cursor() as cur:
                cur.execute("INSERT INTO notes (text) VALUES (%s)", (text[:500],))
                self.reply(201, {"id": cur.lastrowid, "text": text[:500]})
        except Exception as e:
            print(f"POST {self.path}: {e!r}", file=sys.stderr, flush=True)
            self.reply(503, {"error": repr(e)})

    def log_message(self, fmt, *args):
        if self.path == "/api/health":
            return  # the healthchecks of app and web, every 2 s
        print(f"{self.address_string()} {fmt % args}", flush=True)


if __name__ == "__main__":
    # As the container's pid 1, SIGTERM's default action does nothing: stop on it explicitly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    init_schema()
    print(f"app listening on :{PORT} (db {DB['host']}, cache {CACHE.connection_pool.connection_kwargs['host']})",
          flush=True)
    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
