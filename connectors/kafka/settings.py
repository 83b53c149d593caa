"""Client settings of a secured Kafka: a consumer-config file, environment variables, secrets kept out of sight.

Why a file and the environment, never the URL or the command line? A URL and a command line end
up in shell histories, ``ps`` listings, logs and checkpoints; a file readable by the trainer alone
and the environment of its process do not. Kafka's own tools take their client settings the same
way (``kafka-console-consumer --consumer.config FILE``), so one file serves both.

:func:`read_kafka_config` reads such a file: Java-properties lines ``key=value`` (or ``key: value``;
``#`` and ``!`` start comments), with Kafka's dotted names (``security.protocol``,
``ssl.truststore.location``, ``sasl.mechanism``, ``sasl.jaas.config``...) or kafka-python's own
(``ssl_cafile``, ``sasl_plain_username``...), each mapped to the setting of kafka-python's
:class:`~kafka.KafkaConsumer` that does the work. ``${NAME}`` in a value is replaced by the
environment variable ``NAME``; the variables :data:`ENVIRONMENT` (e.g.
``STREAMSGNS_KAFKA_SASL_PASSWORD``) set a secret without any file. A key that is not understood
is refused with the list of those that are (a misspelt ``sasl.mechansim`` must not silently
connect without authentication).

Secrets (passwords, the JAAS line, token providers) are held as :class:`Secret` objects, whose
``repr`` and ``str`` are ``***``: a settings dict can be logged, printed or handed to a Ray actor
without showing them; :func:`reveal` unwraps them at the last moment, when the consumer is
created. :class:`RedactingFilter` is the second line: installed on a log handler, it replaces any
secret's text in every record, whoever logs it (kafka-python included).

Examples
--------
>>> import os, tempfile
>>> d = tempfile.mkdtemp()
>>> ca, path = os.path.join(d, "ca.pem"), os.path.join(d, "client.properties")
>>> _ = open(ca, "w").write("(a PEM certificate)")
>>> _ = open(path, "w").write(f'''
... security.protocol=SASL_SSL
... ssl.truststore.location={ca}
... sasl.mechanism=SCRAM-SHA-512
... sasl.username=trainer
... sasl.password=${{KAFKA_PW}}
... ''')
>>> cfg = read_kafka_config(path, environ={"KAFKA_PW": "hunter2"})
>>> cfg["security_protocol"], cfg["ssl_cafile"] == ca, cfg["sasl_plain_username"]
('SASL_SSL', True, 'trainer')
>>> cfg["sasl_plain_password"]
Secret('***')
>>> reveal(cfg)["sasl_plain_password"]
'hunter2'

References
----------
Apache Kafka, "Security: authentication using SASL" and "Encryption with SSL"
(https://kafka.apache.org/documentation/#security), for the dotted names; kafka-python's
:class:`~kafka.KafkaConsumer` documentation, for what each setting does.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Iterable, Mapping

__all__ = ["ENVIRONMENT", "KAFKA_NAMES", "RedactingFilter", "Secret", "SettingsError", "read_kafka_config",
           "redact", "reveal", "secret_texts"]


class SettingsError(ValueError):
    """A consumer-config file or a setting is not understood; the message names it (never a secret's value)."""


class Secret:
    """A secret string (a password, a token): shown as ``***`` by ``repr``, ``str`` and ``format``.

    Parameters
    ----------
    value : str or object
        The secret itself (a token provider object for ``sasl_oauth_token_provider``).

    Examples
    --------
    >>> s = Secret("hunter2")
    >>> s, str(s), f"{s}", s.reveal()
    (Secret('***'), '***', '***', 'hunter2')
    """

    __slots__ = ("_value",)

    def __init__(self, value):
        self._value = value

    def reveal(self):
        """The secret itself: only for the client that needs it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __format__(self, spec: str) -> str:
        return "***"

    def __eq__(self, other) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self):  # pickled (to a Ray actor) as a Secret, never as a plain string in a repr
        return (Secret, (self._value,))


#: kafka-python settings whose values are secrets.
SECRET_SETTINGS = ("sasl_plain_password", "ssl_password", "sasl_oauth_token_provider")

#: Kafka's dotted names (and short forms) → kafka-python's :class:`~kafka.KafkaConsumer` settings.
KAFKA_NAMES = {
    "security.protocol": "security_protocol",
    "ssl.cafile": "ssl_cafile",
    "ssl.truststore.location": "ssl_cafile",  # PEM only (see ssl.truststore.type)
    "ssl.certfile": "ssl_certfile",
    "ssl.keystore.location": "ssl_certfile",  # PEM holding the client certificate
    "ssl.keyfile": "ssl_keyfile",
    "ssl.key.location": "ssl_keyfile",
    "ssl.key.password": "ssl_password",
    "ssl.keystore.password": "ssl_password",
    "ssl.password": "ssl_password",
    "ssl.check.hostname": "ssl_check_hostname",
    "ssl.endpoint.identification.algorithm": "ssl_check_hostname",  # "https" or "" (off)
    "ssl.crlfile": "ssl_crlfile",
    "ssl.ciphers": "ssl_ciphers",
    "ssl.cipher.suites": "ssl_ciphers",
    "sasl.mechanism": "sasl_mechanism",
    "sasl.username": "sasl_plain_username",
    "sasl.password": "sasl_plain_password",
    "sasl.jaas.config": "sasl_plain_username+sasl_plain_password",  # username="..." password="..."
    "sasl.kerberos.service.name": "sasl_kerberos_service_name",
    "sasl.kerberos.domain.name": "sasl_kerberos_domain_name",
    "sasl.oauthbearer.token.file": "sasl_oauth_token_provider",  # a file holding the bearer token
}

#: Kafka names that take a value Kafka understands but kafka-python has no setting for: accepted
#: when they ask for what kafka-python does anyway (the value listed), refused otherwise.
_FIXED = {"ssl.truststore.type": "PEM", "ssl.keystore.type": "PEM"}

#: Settings that streamsgns decides itself: refused in a config file, with the reason.
_OWNED = {
    "bootstrap_servers": "the kafka:// URL names the brokers",
    "group_id": "give the group in the URL (?group=ID) or with --group",
    "enable_auto_commit": "streamsgns commits offsets itself, only once a checkpoint covering them is durable",
    "key_deserializer": "not a setting of a file", "value_deserializer": "not a setting of a file",
    "default_offset_commit_callback": "not a setting of a file", "selector": "not a setting of a file",
    "kafka_client": "not a setting of a file", "metric_reporters": "not a setting of a file",
    "socket_options": "not a setting of a file", "ssl_context": "give ssl.cafile / ssl.certfile / ssl.keyfile",
    "partition_assignment_strategy": "not a setting of a file",
}

#: Environment variables read for secrets (and the user name), whatever the file says.
ENVIRONMENT = {
    "STREAMSGNS_KAFKA_SASL_USERNAME": "sasl_plain_username",
    "STREAMSGNS_KAFKA_SASL_PASSWORD": "sasl_plain_password",
    "STREAMSGNS_KAFKA_SSL_PASSWORD": "ssl_password",
}

_SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
_SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", "GSSAPI")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_JAAS_FIELD = re.compile(r'(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"')


def _consumer_defaults() -> dict:
    from kafka import KafkaConsumer

    return dict(getattr(KafkaConsumer, "DEFAULT_CONFIG", {}))


def _known_names() -> str:
    return (", ".join(sorted(set(KAFKA_NAMES) | set(_FIXED)))
            + "; or any kafka-python KafkaConsumer setting, by its name (ssl_cafile) or dotted (fetch.max.bytes)")


def _coerce(setting: str, text: str, default, where: str):
    """``text`` as the type of kafka-python's default for ``setting``."""
    if setting == "ssl_check_hostname":
        low = text.strip().lower()
        if low in ("https", "true", "1", "yes"):
            return True
        if low in ("", "false", "0", "no", "none"):
            return False
        raise SettingsError(f"{where}: ssl check of the host name must be true/false (or https/empty), got {text!r}")
    if isinstance(default, bool):
        low = text.strip().lower()
        if low not in ("true", "false", "1", "0", "yes", "no"):
            raise SettingsError(f"{where}: {setting} must be true or false, got {text!r}")
        return low in ("true", "1", "yes")
    if isinstance(default, int) and not isinstance(default, bool):
        try:
            return int(text)
        except ValueError:
            raise SettingsError(f"{where}: {setting} must be an integer, got {text!r}") from None
    if isinstance(default, float):
        try:
            return float(text)
        except ValueError:
            raise SettingsError(f"{where}: {setting} must be a number, got {text!r}") from None
    return text


def _interpolate(value: str, environ: Mapping[str, str], where: str) -> str:
    def sub(m):
        name = m.group(1)
        if name not in environ:
            raise SettingsError(f"{where}: environment variable {name} is not set")
        return environ[name]

    return _VAR.sub(sub, value)


def _parse_jaas(text: str, where: str) -> dict:
    """``username`` and ``password`` of a ``sasl.jaas.config`` line (Plain or Scram login module)."""
    fields = {k: v.replace('\\"', '"').replace("\\\\", "\\") for k, v in _JAAS_FIELD.findall(text)}
    if "username" not in fields or "password" not in fields:
        raise SettingsError(f"{where}: sasl.jaas.config needs username=\"...\" password=\"...\" "
                            "(PlainLoginModule or ScramLoginModule)")
    return {"sasl_plain_username": fields["username"], "sasl_plain_password": Secret(fields["password"])}


class _TokenFile:
    """An OAUTHBEARER token provider reading the token from a file at each (re)authentication."""

    def __init__(self, path: str):
        self.path = path

    def token(self) -> str:
        with open(self.path, encoding="utf-8") as f:
            return f.read().strip()

    def extensions(self) -> dict:
        return {}


def _setting(key: str, defaults: dict, where: str) -> str:
    """kafka-python's name of a config-file key; :class:`SettingsError` if there is none."""
    if key in KAFKA_NAMES:
        return KAFKA_NAMES[key]
    name = key.replace(".", "_").replace("-", "_")
    if name in defaults or name in KAFKA_NAMES.values():
        return name
    raise SettingsError(f"{where}: unknown Kafka setting {key!r}; known: {_known_names()}")


def _put(cfg: dict, key: str, value: str, defaults: dict, where: str) -> None:
    """Add one ``key=value`` (already interpolated) to ``cfg`` under kafka-python's name."""
    if key in _FIXED:
        if value.strip().upper() != _FIXED[key]:
            raise SettingsError(f"{where}: {key}={value!r} is not supported: kafka-python reads PEM files only "
                                f"(convert a JKS/PKCS12 store with keytool and openssl)")
        return
    setting = _setting(key, defaults, where)
    if setting in _OWNED:
        raise SettingsError(f"{where}: {key} cannot be set here: {_OWNED[setting]}")
    if setting == "sasl_plain_username+sasl_plain_password":
        cfg.update(_parse_jaas(value, where))
        return
    if setting == "sasl_oauth_token_provider":
        cfg[setting] = Secret(_TokenFile(value)) if key.endswith(".file") else Secret(value)
        return
    if setting == "security_protocol":
        value = value.strip().upper()
        if value not in _SECURITY_PROTOCOLS:
            raise SettingsError(f"{where}: security.protocol must be one of {', '.join(_SECURITY_PROTOCOLS)}, "
                                f"got {value!r}")
    if setting == "sasl_mechanism":
        value = value.strip().upper()
        if value not in _SASL_MECHANISMS:
            raise SettingsError(f"{where}: sasl.mechanism must be one of {', '.join(_SASL_MECHANISMS)}, "
                                f"got {value!r}")
    if key.endswith(("truststore.location", "keystore.location")) and value.lower().endswith((".jks", ".p12", ".pfx")):
        raise SettingsError(f"{where}: {key} names a Java key store; kafka-python reads PEM files only "
                            "(export it with keytool/openssl and give the .pem)")
    coerced = _coerce(setting, value, defaults.get(setting), where)
    cfg[setting] = Secret(coerced) if setting in SECRET_SETTINGS else coerced


def read_kafka_config(path=None, environ: Mapping[str, str] | None = None) -> dict:
    """Read a Kafka consumer-config file and the secret environment variables.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Java-properties file (``key=value`` lines; ``#`` / ``!`` comments; a line ending with
        ``\\`` continues on the next). ``None``: the environment variables alone.
    environ : mapping, optional
        Environment for ``${NAME}`` and :data:`ENVIRONMENT` (default ``os.environ``).

    Returns
    -------
    dict
        kafka-python :class:`~kafka.KafkaConsumer` settings; secrets as :class:`Secret`.

    Raises
    ------
    SettingsError
        On an unknown or misspelt key (the message lists the known ones), a setting that
        streamsgns owns (``bootstrap.servers``, ``group.id``, ``enable.auto.commit``), a bad
        value, an unset ``${NAME}``, a Java key store, or a file that cannot be read. Messages
        name keys and lines, never a value that could be a secret.
    """
    env = os.environ if environ is None else environ
    defaults = _consumer_defaults()
    cfg: dict = {}
    if path is not None:
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError as e:
            raise SettingsError(f"cannot read --kafka-config {path}: {e.strerror or e}") from None
        except UnicodeDecodeError:
            raise SettingsError(f"--kafka-config {path} is not UTF-8 text") from None
        pending, start = "", 0
        for no, raw in enumerate(lines, 1):
            line = raw.strip() if not pending else raw.lstrip()
            if not pending and (not line or line[0] in "#!"):
                continue
            if line.endswith("\\") and not line.endswith("\\\\"):
                pending, start = pending + line[:-1], start or no
                continue
            line, first = pending + line, start or no
            pending, start = "", 0
            m = re.match(r"^([^=:\s]+)\s*[=:]\s*(.*)$", line) or re.match(r"^([^=:\s]+)\s+(.*)$", line)
            where = f"{path}:{first}"
            if not m:
                raise SettingsError(f"{where}: not a key=value line")
            key, value = m.group(1).strip(), m.group(2).strip()
            _put(cfg, key, _interpolate(value, env, where), defaults, where)
        if pending:
            raise SettingsError(f"{path}:{start}: the file ends inside a continued line")
    for var, setting in ENVIRONMENT.items():
        if env.get(var):
            cfg[setting] = Secret(env[var]) if setting in SECRET_SETTINGS else env[var]
    _check(cfg, path or "the environment")
    return cfg


def _check(cfg: dict, where) -> None:
    """Settings that make sense one by one but not together."""
    proto = cfg.get("security_protocol", "PLAINTEXT")
    mech = cfg.get("sasl_mechanism")
    if mech and not proto.startswith("SASL_"):
        raise SettingsError(f"{where}: sasl.mechanism={mech} needs security.protocol=SASL_SSL or SASL_PLAINTEXT")
    if proto.startswith("SASL_"):
        if not mech:
            raise SettingsError(f"{where}: security.protocol={proto} needs sasl.mechanism "
                                f"({', '.join(_SASL_MECHANISMS)})")
        if mech in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512") and not (
                cfg.get("sasl_plain_username") and cfg.get("sasl_plain_password")):
            raise SettingsError(f"{where}: sasl.mechanism={mech} needs sasl.username and a password "
                                "(sasl.password=${VAR} in the file, or STREAMSGNS_KAFKA_SASL_PASSWORD)")
        if mech == "OAUTHBEARER" and not cfg.get("sasl_oauth_token_provider"):
            raise SettingsError(f"{where}: sasl.mechanism=OAUTHBEARER needs sasl.oauthbearer.token.file")
    for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile", "ssl_crlfile"):
        if cfg.get(key) and not os.path.isfile(cfg[key]):
            raise SettingsError(f"{where}: {key} {cfg[key]} is not a readable file")


def reveal(config: Mapping) -> dict:
    """A copy of ``config`` with every :class:`Secret` replaced by its value (for the client only)."""
    return {k: (v.reveal() if isinstance(v, Secret) else v) for k, v in config.items()}


def redact(config: Mapping) -> dict:
    """A copy of ``config`` safe to show: secrets (wrapped or not) replaced by ``"***"``.

    Examples
    --------
    >>> redact({"sasl_plain_password": "x", "ssl_password": Secret("y"), "security_protocol": "SSL"})
    {'sasl_plain_password': '***', 'ssl_password': '***', 'security_protocol': 'SSL'}
    """
    return {k: ("***" if (k in SECRET_SETTINGS or isinstance(v, Secret)) and v is not None else v)
            for k, v in config.items()}


def secret_texts(config: Mapping) -> list[str]:
    """The texts of the secrets of ``config`` (for :class:`RedactingFilter`), longest first."""
    out = []
    for k, v in config.items():
        value = v.reveal() if isinstance(v, Secret) else (v if k in SECRET_SETTINGS else None)
        if isinstance(value, str) and value:
            out.append(value)
    return sorted(set(out), key=len, reverse=True)


class RedactingFilter(logging.Filter):
    """A logging filter that replaces every given secret text by ``***`` in each record.

    The record's message is formatted once (``msg % args``), redacted, and stored back without
    arguments, so that neither a handler nor a formatter sees the secret. Exceptions attached to
    the record are formatted and redacted too.

    Parameters
    ----------
    secrets : iterable of str
        Texts to hide (empty strings are ignored).

    Examples
    --------
    >>> rec = logging.LogRecord("kafka", logging.ERROR, __file__, 1, "auth failed for %s", ("hunter2",), None)
    >>> RedactingFilter(["hunter2"]).filter(rec), rec.getMessage()
    (True, 'auth failed for ***')
    """

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        for s in self.secrets:
            text = text.replace(s, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is passed on as it is
            return True
        record.msg, record.args = self.scrub(message), None
        if record.exc_info:
            import traceback

            record.exc_text = self.scrub("".join(traceback.format_exception(*record.exc_info)).rstrip())
            record.exc_info = None
        return True
