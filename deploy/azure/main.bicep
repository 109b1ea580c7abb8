// The connector's service in Azure, beside Dynamics 365: Azure Container Apps running the image, with
//   - a Log Analytics workspace receiving the service's logs (JSON lines on standard output),
//   - a user-assigned managed identity: the service signs in to Dataverse with it (DATAVERSE_AUTH=managed-identity,
//     AZURE_CLIENT_ID = its client id; the Dataverse application user is created for that client id) and reads
//     the service's secrets from Key Vault with it,
//   - Key Vault (RBAC) holding the secrets, referenced by the container app, never written in this template:
//     stripe-api-key, stripe-webhook-secret, dataverse-webhook-key, admin-api-key, database-url,
//   - PostgreSQL flexible server 16 (Burstable B1ms) with the database `connector`, shared by every replica.
// Two deployments (docs/RUNBOOK.md): first with deployApp=false (identity, vault, database, logs), then the
// administrator puts the secret values into Key Vault, then again with deployApp=true (the container app).

@description('Azure region of every resource; default: the resource group\'s.')
param location string = resourceGroup().location

@description('Prefix of the resource names, and the container app\'s name (lower-case letters, digits, hyphens).')
@minLength(3)
@maxLength(24)
param namePrefix string = 'stripe-connector'

@description('Image of the service, built from the repository\'s Dockerfile, e.g. contoso.azurecr.io/stripe-dynamics365-connector:0.1.0.')
param image string

@description('Registry the image is pulled from with the managed identity (it needs AcrPull there); empty for a public image.')
param registryServer string = ''

@description('The one Stripe mode the service serves (STRIPE_MODE); the stripe-api-key secret must be a key of that mode.')
@allowed([
  'test'
  'live'
])
param stripeMode string = 'live'

@description('URL of the Dynamics 365 environment, e.g. https://contoso.crm.dynamics.com.')
param dataverseUrl string

@description('Log level of the service.')
@allowed([
  'fatal'
  'error'
  'warn'
  'info'
  'debug'
  'trace'
])
param logLevel string = 'info'

@description('Most replicas of the service; they share the PostgreSQL database. One replica always runs.')
@minValue(1)
@maxValue(10)
param maxReplicas int = 1

@description('Whether to deploy the container app: false on the first deployment, before the secrets are in Key Vault.')
param deployApp bool = true

@description('Administrator login of the PostgreSQL server.')
param postgresAdministratorLogin string = 'connector_admin'

@description('Administrator password of the PostgreSQL server; given at deployment time, never stored in a file.')
@secure()
param postgresAdministratorPassword string

@description('Object id of the user or group that puts the secret values into Key Vault (Key Vault Secrets Officer); empty for none.')
param secretsOfficerPrincipalId string = ''

var keyVaultName = 'stc-${uniqueString(resourceGroup().id, namePrefix)}'
var postgresServerName = '${namePrefix}-pg-${uniqueString(resourceGroup().id)}'
var databaseName = 'connector'
var port = 3000
// The container app's address: its name under the environment's domain (external ingress).
var serviceUrl = 'https://${namePrefix}.${environment.properties.defaultDomain}'
// Built-in roles: Key Vault Secrets User (read secret values) and Key Vault Secrets Officer (write them).
var keyVaultSecretsUserRole = '4633458b-17de-408a-b874-0445c86b69e6'
var keyVaultSecretsOfficerRole = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
// The Key Vault secrets the container app references, each under the same name as a container app secret.
var keyVaultSecrets = [
  'stripe-api-key'
  'stripe-webhook-secret'
  'dataverse-webhook-key'
  'admin-api-key'
  'database-url'
]

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${namePrefix}-logs'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${namePrefix}-identity'
  location: location
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, identity.id, keyVaultSecretsUserRole)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRole)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource secretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(secretsOfficerPrincipalId)) {
  name: guid(keyVault.id, secretsOfficerPrincipalId, keyVaultSecretsOfficerRole)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficerRole)
    principalId: secretsOfficerPrincipalId
  }
}

resource postgres 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: postgresServerName
  location: location
  sku: {
    name: 'Standard_B1ms'
    tier: 'Burstable'
  }
  properties: {
    version: '16'
    administratorLogin: postgresAdministratorLogin
    administratorLoginPassword: postgresAdministratorPassword
    storage: {
      storageSizeGB: 32
    }
    backup: {
      backupRetentionDays: 7
      geoRedundantBackup: 'Disabled'
    }
    highAvailability: {
      mode: 'Disabled'
    }
  }
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2024-08-01' = {
  parent: postgres
  name: databaseName
  properties: {
    charset: 'UTF8'
    collation: 'en_US.utf8'
  }
}

// Connections from Azure services (the container app's outbound addresses are not fixed on a consumption plan).
resource postgresAzureAccess 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2024-08-01' = {
  parent: postgres
  name: 'AllowAzureServices'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
}

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${namePrefix}-env'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
  }
}

resource app 'Microsoft.App/containerApps@2024-03-01' = if (deployApp) {
  name: namePrefix
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    managedEnvironmentId: environment.id
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: true
        targetPort: port
        transport: 'http'
        allowInsecure: false
      }
      secrets: [
        for secretName in keyVaultSecrets: {
          name: secretName
          keyVaultUrl: '${keyVault.properties.vaultUri}secrets/${secretName}'
          identity: identity.id
        }
      ]
      registries: empty(registryServer) ? [] : [
        {
          server: registryServer
          identity: identity.id
        }
      ]
    }
    template: {
      terminationGracePeriodSeconds: 30
      containers: [
        {
          name: 'connector'
          image: image
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
          env: [
            {
              name: 'STRIPE_API_KEY'
              secretRef: 'stripe-api-key'
            }
            {
              name: 'STRIPE_MODE'
              value: stripeMode
            }
            {
              name: 'STRIPE_WEBHOOK_SECRET'
              secretRef: 'stripe-webhook-secret'
            }
            {
              name: 'DATAVERSE_URL'
              value: dataverseUrl
            }
            {
              name: 'DATAVERSE_AUTH'
              value: 'managed-identity'
            }
            {
              name: 'AZURE_CLIENT_ID'
              value: identity.properties.clientId
            }
            {
              name: 'DATAVERSE_WEBHOOK_KEY'
              secretRef: 'dataverse-webhook-key'
            }
            {
              name: 'ADMIN_API_KEY'
              secretRef: 'admin-api-key'
            }
            {
              name: 'DATABASE_URL'
              secretRef: 'database-url'
            }
            {
              name: 'PORT'
              value: string(port)
            }
            {
              name: 'LOG_LEVEL'
              value: logLevel
            }
            {
              name: 'SERVICE_PUBLIC_URL'
              value: serviceUrl
            }
          ]
          probes: [
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: port
              }
              initialDelaySeconds: 10
              periodSeconds: 30
              failureThreshold: 3
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/healthz'
                port: port
              }
              periodSeconds: 10
              failureThreshold: 3
            }
          ]
        }
      ]
      scale: {
        minReplicas: 1
        maxReplicas: maxReplicas
      }
    }
  }
  dependsOn: [
    secretsUser
    database
    postgresAzureAccess
  ]
}

@description('Address of the service (known from the first deployment on): the Stripe webhook endpoint is this URL followed by /webhooks/stripe.')
output serviceUrl string = serviceUrl

@description('Key Vault to put the secret values into.')
output keyVaultName string = keyVault.name

@description('Client id of the managed identity: the application id of the Dataverse application user.')
output identityClientId string = identity.properties.clientId

@description('Principal (object) id of the managed identity, for role assignments such as AcrPull.')
output identityPrincipalId string = identity.properties.principalId

@description('Host of the PostgreSQL server, for the database-url secret.')
output postgresHost string = postgres.properties.fullyQualifiedDomainName

@description('Name of the database for the database-url secret.')
output databaseName string = databaseName
