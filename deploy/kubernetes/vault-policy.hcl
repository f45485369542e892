# Vault policy "qfsign-shop": read the QFPay merchant credentials, nothing else.
#
#   vault policy write qfsign-shop vault-policy.hcl
#
# KV v2 reads go to <mount>/data/<path>: QFPAY_VAULT_SECRET=secret/qfpay/shop
# is read at secret/data/qfpay/shop. The current version number comes with the
# data, so no metadata capability is needed. Token renewal (renew-self) and
# lookup are granted by Vault's built-in "default" policy; keep it attached.
#
# The wildcard lets this pod read every merchant under secret/qfpay/. When
# several applications share the mount, give each its own policy with its
# exact path instead, e.g. path "secret/data/qfpay/shop".
path "secret/data/qfpay/*" {
  capabilities = ["read"]
}
