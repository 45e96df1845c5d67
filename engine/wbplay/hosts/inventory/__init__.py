"""Which Windows PCs ``--host`` means, and how to connect to each of them.

``--host pc42`` is looked up in a YAML inventory (``schemas/inventory.schema.json``):

.. code-block:: yaml

    all:
      vars: {username: CORP\\backupadmin, ca_bundle: corp-ca.pem}
    groups:
      office:
        vars: {transport: ntlm}
        hosts:
          pc42: {address: 10.0.0.42}
          pc43:                       # address defaults to the name
    hosts:
      kiosk: {address: 192.168.7.20, port: 5986}

Host vars override group vars, which override ``all.vars``.  A host in two
groups that set the same var to different values is an error (there is no
silent "last group wins").  A group name resolves to all its hosts; a
comma-separated list resolves to each item.

Without an inventory entry, ``--host`` also takes a bare hostname or IP,
``host:port``, ``[v6]:port`` or ``https://host:port`` (``all.vars`` still apply).

Where the inventory is: ``--inventory`` (``inventory_path``), else
``$WBPLAY_INVENTORY``, else ``$XDG_CONFIG_HOME/wbplay/inventory.yml``
(``~/.config/wbplay/inventory.yml``).  Only the last may be missing.

Secure defaults: HTTPS on 5986, NTLM, certificate validation on.  Basic auth
over HTTP is refused; skipping certificate validation takes an explicit
``cert_validation: ignore`` or ``insecure_skip_tls_verify=True`` and raises a
:class:`TlsVerificationDisabledWarning` through :mod:`warnings`.

``sim:NAME`` and ``local`` are handled by the host factory before this package.

* :mod:`~wbplay.hosts.inventory.resolve`: ``--host`` -> :class:`~wbplay.hosts.target.Target` list;
* :mod:`~wbplay.hosts.inventory.spec`: one ``--host`` item (``host:port``, ``https://...``);
* :mod:`~wbplay.hosts.inventory.model`: a loaded inventory and its var precedence;
* :mod:`~wbplay.hosts.inventory.files`: where the inventory is, and reading it;
* :mod:`~wbplay.hosts.inventory.yaml_file`: the YAML format (parse, validate);
* :mod:`~wbplay.hosts.inventory.table_files`: the CSV and plain host-list formats (same model);
* :mod:`~wbplay.hosts.inventory.limit`: ``--limit`` (globs, groups, ``!exclude``).
"""
