//! The SQL of service-account configs and their certificates. Functions take the pool or a
//! transaction and return domain types; unique violations become field errors by statement.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Row, Transaction};

use super::certificate::{self, Certificate};
use super::ServiceAccount;
use crate::domain::ClientId;
use crate::registry::client::millis_to_time;
use crate::registry::RegistryError;

const ACCOUNT_COLUMNS: &str = "id, client_id, description, scopes, access_token_audience, \
     access_token_duration_seconds, access_token_user_attributes, created_at, updated_at";
/// What is read of a config besides [`ACCOUNT_COLUMNS`]: written by the service alone.
const USE_COLUMNS: &str = "last_used_at";

const CERTIFICATE_COLUMNS: &str =
    "id, service_account_id, pem, fingerprint, subject, not_before, not_after, created_at";

/// A certificate to store: what the registry shows plus the PEM it came from.
pub(super) struct NewCertificate {
    /// What the registry shows.
    pub certificate: Certificate,
    /// The PEM as registered (trimmed).
    pub pem: String,
}

fn to_json(list: &[String]) -> String {
    serde_json::Value::from(list.to_vec()).to_string()
}

fn from_json(row: &AnyRow, column: &str) -> Result<Vec<String>, RegistryError> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("column {column} holds bad JSON: {e}").into())
}

fn account_from_row(row: &AnyRow) -> Result<ServiceAccount, RegistryError> {
    Ok(ServiceAccount {
        id: row.try_get("id")?,
        client_id: ClientId::parse(&row.try_get::<String, _>("client_id")?)
            .ok_or_else(|| anyhow::anyhow!("stored client id is malformed"))?,
        description: row.try_get("description")?,
        scopes: from_json(row, "scopes")?,
        access_token_audience: row.try_get("access_token_audience")?,
        access_token_duration_seconds: row.try_get("access_token_duration_seconds")?,
        access_token_user_attributes: from_json(row, "access_token_user_attributes")?,
        certificates: Vec::new(),
        created_at: millis_to_time(row.try_get("created_at")?),
        updated_at: millis_to_time(row.try_get("updated_at")?),
        last_used_at: row
            .try_get::<Option<i64>, _>("last_used_at")?
            .map(millis_to_time),
    })
}

/// Decodes a certificate row; the public key comes from the stored PEM, the one source of truth.
fn certificate_from_row(row: &AnyRow) -> Result<(String, Certificate), RegistryError> {
    let pem: String = row.try_get("pem")?;
    let parsed =
        certificate::parse(&pem).map_err(|e| anyhow::anyhow!("a stored certificate {e}"))?;
    let certificate = Certificate {
        id: row.try_get("id")?,
        fingerprint: row.try_get("fingerprint")?,
        subject: row.try_get("subject")?,
        not_before: millis_to_time(row.try_get("not_before")?),
        not_after: millis_to_time(row.try_get("not_after")?),
        created_at: millis_to_time(row.try_get("created_at")?),
        public_key: parsed.public_key,
    };
    Ok((row.try_get("service_account_id")?, certificate))
}

/// One config with its certificates, if it exists.
pub(super) async fn find(
    pool: &AnyPool,
    id: &str,
) -> Result<Option<ServiceAccount>, RegistryError> {
    let sql =
        format!("select {ACCOUNT_COLUMNS}, {USE_COLUMNS} from service_accounts where id = $1");
    let Some(row) = sqlx::query(&sql).bind(id).fetch_optional(pool).await? else {
        return Ok(None);
    };
    let mut account = account_from_row(&row)?;
    let sql = format!(
        "select {CERTIFICATE_COLUMNS} from service_account_certificates \
         where service_account_id = $1 order by created_at, id"
    );
    for row in sqlx::query(&sql).bind(id).fetch_all(pool).await? {
        account.certificates.push(certificate_from_row(&row)?.1);
    }
    Ok(Some(account))
}

/// Every config with its certificates, oldest first.
pub(super) async fn list(pool: &AnyPool) -> Result<Vec<ServiceAccount>, RegistryError> {
    let sql = format!(
        "select {ACCOUNT_COLUMNS}, {USE_COLUMNS} from service_accounts order by created_at, id"
    );
    let mut accounts = sqlx::query(&sql)
        .fetch_all(pool)
        .await?
        .iter()
        .map(account_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let sql = format!(
        "select {CERTIFICATE_COLUMNS} from service_account_certificates order by created_at, id"
    );
    for row in sqlx::query(&sql).fetch_all(pool).await? {
        let (owner, certificate) = certificate_from_row(&row)?;
        if let Some(account) = accounts.iter_mut().find(|a| a.id == owner) {
            account.certificates.push(certificate);
        }
    }
    Ok(accounts)
}

/// Inserts a new config row (its certificates separately).
pub(super) async fn insert(
    tx: &mut Transaction<'_, Any>,
    a: &ServiceAccount,
) -> Result<(), RegistryError> {
    let sql = format!(
        "insert into service_accounts ({ACCOUNT_COLUMNS}) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    );
    sqlx::query(&sql)
        .bind(&a.id)
        .bind(a.client_id.as_str())
        .bind(&a.description)
        .bind(to_json(&a.scopes))
        .bind(&a.access_token_audience)
        .bind(a.access_token_duration_seconds)
        .bind(to_json(&a.access_token_user_attributes))
        .bind(a.created_at.timestamp_millis())
        .bind(a.updated_at.timestamp_millis())
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            if crate::db::is_unique_violation(&e) {
                RegistryError::invalid(
                    "service_account_id",
                    "a service account with this id exists",
                )
            } else {
                e.into()
            }
        })?;
    Ok(())
}

/// Writes every changeable field of an existing config row.
pub(super) async fn update(
    tx: &mut Transaction<'_, Any>,
    a: &ServiceAccount,
) -> Result<(), RegistryError> {
    sqlx::query(
        "update service_accounts set description = $2, scopes = $3, access_token_audience = $4, \
         access_token_duration_seconds = $5, access_token_user_attributes = $6, updated_at = $7 \
         where id = $1",
    )
    .bind(&a.id)
    .bind(&a.description)
    .bind(to_json(&a.scopes))
    .bind(&a.access_token_audience)
    .bind(a.access_token_duration_seconds)
    .bind(to_json(&a.access_token_user_attributes))
    .bind(a.updated_at.timestamp_millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores a certificate of a config; `field` names the input it came from.
pub(super) async fn insert_certificate(
    tx: &mut Transaction<'_, Any>,
    account_id: &str,
    new: &NewCertificate,
    field: &'static str,
) -> Result<(), RegistryError> {
    let c = &new.certificate;
    let sql = format!(
        "insert into service_account_certificates ({CERTIFICATE_COLUMNS}) \
         values ($1, $2, $3, $4, $5, $6, $7, $8)"
    );
    sqlx::query(&sql)
        .bind(&c.id)
        .bind(account_id)
        .bind(&new.pem)
        .bind(&c.fingerprint)
        .bind(&c.subject)
        .bind(c.not_before.timestamp_millis())
        .bind(c.not_after.timestamp_millis())
        .bind(c.created_at.timestamp_millis())
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            if crate::db::is_unique_violation(&e) {
                RegistryError::invalid(field, "this certificate is already registered")
            } else {
                e.into()
            }
        })?;
    Ok(())
}

/// Removes every certificate of a config (before a replacement list is stored).
pub(super) async fn delete_certificates(
    tx: &mut Transaction<'_, Any>,
    account_id: &str,
) -> Result<(), RegistryError> {
    sqlx::query("delete from service_account_certificates where service_account_id = $1")
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes a config, its certificates and its used-assertion record; `false` if it did not exist.
pub(super) async fn delete(tx: &mut Transaction<'_, Any>, id: &str) -> Result<bool, RegistryError> {
    for sql in [
        "delete from used_assertions where service_account_id = $1",
        "delete from service_account_certificates where service_account_id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut **tx).await?;
    }
    let done = sqlx::query("delete from service_accounts where id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// How many certificates a config has.
pub(super) async fn count_certificates(
    tx: &mut Transaction<'_, Any>,
    account_id: &str,
) -> Result<i64, RegistryError> {
    let row = sqlx::query(
        "select count(*) as n from service_account_certificates where service_account_id = $1",
    )
    .bind(account_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("n")?)
}
