"""What Kabar's services share: the article model, settings, index definitions, event contracts."""
