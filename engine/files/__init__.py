"""Files of attachment fields: storage back ends, uploads, attaching to records, downloads, sweeping."""
