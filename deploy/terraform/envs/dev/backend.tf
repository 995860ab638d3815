# State in S3, locked in DynamoDB. The bucket and table exist before the first apply (see
# docs/deployment.md, "Prerequisites"); `terraform init -backend-config=...` may override them.
terraform {
  backend "s3" {
    bucket         = "dataplatform-terraform-state"
    key            = "mlplatform/dev/terraform.tfstate"
    region         = "eu-west-1"
    dynamodb_table = "dataplatform-terraform-locks"
    encrypt        = true
  }
}
