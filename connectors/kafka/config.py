"""``kafka://`` URL parsing and the settings of the kafka-python consumer."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["FAST_GROUP_CONFIG", "URL_PARAMETERS", "consumer_config", "parse_url"]

#: Query parameters of a ``kafka://`` URL, and what each sets.
URL_PARAMETERS = {
    "group": "consumer group id (also group_id)",
    "group_id": "consumer group id",
    "assign": "manual or group",
    "idle_timeout": "seconds without a message after which reading ends",
    "poll_timeout_ms": "longest wait of one poll, in milliseconds",
    "max_chunk_bytes": "bytes of messages handed to the learner at once",
}

#: Fast consumer-group settings: a join takes ~3 s instead of ~20 s.
FAST_GROUP_CONFIG = {
    "session_timeout_ms": 6000,
    "heartbeat_interval_ms": 500,
    "max_poll_interval_ms": 10000,
}


def parse_url(url: str) -> tuple[str, str, dict]:
    """Split ``kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC]?group=ID`` into source arguments.

    Parameters
    ----------
    url : str
        The URL. Query parameters ``group`` (or ``group_id``), ``assign``,
        ``idle_timeout`` (seconds), ``poll_timeout_ms`` and
        ``max_chunk_bytes`` are understood (:data:`URL_PARAMETERS`); any other is refused.
        Credentials never go in a URL (``kafka://user:password@host`` is refused): they belong
        in a consumer-config file or the environment
        (:mod:`streamsgns.connectors.kafka.settings`).

    Returns
    -------
    hosts : str
        Comma-separated ``HOST:PORT`` list.
    topics : str
        Comma-separated topic list (percent-decoded).
    kwargs : dict
        Keyword arguments of :class:`streamsgns.connectors.kafka.KafkaSource` taken
        from the query.

    Raises
    ------
    ValueError
        If the scheme is not ``kafka``, the host or the topic is missing, a
        query parameter is unknown (the message lists the known ones), the URL
        holds credentials, or a numeric query value is not a number.

    Examples
    --------
    >>> parse_url("kafka://h:9092/news?group=g&idle_timeout=2")
    ('h:9092', 'news', {'group_id': 'g', 'idle_timeout': 2.0})
    >>> parse_url("kafka://h:9092/news?gorup=g")
    Traceback (most recent call last):
    ...
    ValueError: unknown kafka:// URL parameter 'gorup'; known: assign, group, group_id, idle_timeout, max_chunk_bytes, poll_timeout_ms
    """
    parts = urlsplit(url)
    if parts.scheme != "kafka":
        raise ValueError(f"not a kafka:// URL: {url!r}")
    if "@" in parts.netloc:
        host = parts.netloc.rpartition("@")[2]
        raise ValueError(f"kafka://...@{host}: credentials never go in the URL (it ends up in logs and "
                         "process listings); give them in --kafka-config FILE or STREAMSGNS_KAFKA_SASL_PASSWORD")
    hosts = parts.netloc
    topics = unquote(parts.path.lstrip("/"))
    if not hosts or not topics:
        raise ValueError(f"kafka URL needs hosts and a topic: kafka://HOST:PORT/TOPIC, got {url!r}")
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = sorted(set(query) - set(URL_PARAMETERS))
    if unknown:
        raise ValueError(f"unknown kafka:// URL parameter{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(map(repr, unknown))}; known: {', '.join(sorted(URL_PARAMETERS))}")
    args: dict = {}
    if "group" in query or "group_id" in query:
        args["group_id"] = query.get("group", query.get("group_id"))
    if "assign" in query:
        args["assign"] = query["assign"]
    for name, kind in (("idle_timeout", float), ("poll_timeout_ms", int), ("max_chunk_bytes", int)):
        if name in query:
            try:
                args[name] = kind(query[name])
            except ValueError:
                raise ValueError(f"kafka:// URL parameter {name} must be {'a number' if kind is float else 'an integer'}, "
                                 f"got {query[name]!r}") from None
    return hosts, topics, args


def consumer_config(bootstrap_servers: list[str], group_id: str | None, max_backoff: float,
                    max_chunk_bytes: int, extra: dict) -> dict:
    """Settings of the :class:`~kafka.KafkaConsumer` of a source.

    Parameters
    ----------
    bootstrap_servers : list of str
        ``"HOST:PORT"`` strings.
    group_id : str or None
        Consumer group.
    max_backoff : float
        Longest reconnect backoff of kafka-python, in seconds.
    max_chunk_bytes : int
        Chunk size limit in bytes; a partition fetch may bring at least that
        much (and at least 1 MiB).
    extra : dict
        The caller's settings; they override every default.

    Returns
    -------
    dict
        Never auto-commit, start at the earliest offset without a committed
        one, never auto-create topics, the fast group timings of
        :data:`FAST_GROUP_CONFIG`; defaults that the installed kafka-python
        does not know are dropped (``extra`` is passed as given).
    """
    cfg = {
        "bootstrap_servers": bootstrap_servers,
        "group_id": group_id,
        "client_id": "streamsgns",
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "allow_auto_create_topics": False,
        "reconnect_backoff_max_ms": int(max_backoff * 1000),
        "bootstrap_timeout_ms": 5000,
        # a single message larger than this still comes back whole (KIP-74)
        "max_partition_fetch_bytes": max(1 << 20, max_chunk_bytes),
        **FAST_GROUP_CONFIG,
    }
    from kafka import KafkaConsumer

    known = getattr(KafkaConsumer, "DEFAULT_CONFIG", None)
    if known:  # drop our defaults that this kafka-python version lacks
        cfg = {k: v for k, v in cfg.items() if k in known}
    cfg.update(extra)
    return cfg
